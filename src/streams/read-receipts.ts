import type { EventStream } from '../pubsub/event-stream.js';
import { idAfter, type ConversationRead, type OutboxEvent } from '../pubsub/topics.js';
import { DONE, leanStream } from './lean.js';

export interface ReadReceiptStreamOptions<Other extends { id: string }> {
  live: EventStream<OutboxEvent<ConversationRead> | Other>;
  /** True for a read receipt; for any other event (an order change), false, or throws to end the stream. */
  guard: (event: OutboxEvent<ConversationRead> | Other) => event is OutboxEvent<ConversationRead>;
  viewerId: string;
}

/**
 * Other participants' read positions as they move: never the viewer's own,
 * and per reader only forward (a position at or behind the last one sent is
 * dropped, whatever order the events arrive in).
 */
export function readReceiptStream<Other extends { id: string }>({ live, guard, viewerId }: ReadReceiptStreamOptions<Other>): AsyncIterableIterator<ConversationRead> {
  const sent = new Map<string, string>();
  const pull = async (): Promise<IteratorResult<ConversationRead>> => {
    for (;;) {
      const step = await live.next();
      if (step.done) return DONE;
      if (!guard(step.value)) continue;
      const receipt = step.value.payload;
      if (receipt.userId === viewerId) continue;
      const previous = sent.get(receipt.userId);
      if (previous !== undefined && !idAfter(receipt.lastReadMessageId, previous)) continue;
      sent.set(receipt.userId, receipt.lastReadMessageId);
      return { value: receipt, done: false };
    }
  };
  return leanStream(pull, () => live.return());
}
