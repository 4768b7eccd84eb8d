import type { EventStream } from '../pubsub/event-stream.js';
import type { TypingSignal } from '../pubsub/topics.js';
import { closingWith } from './lean.js';

export interface TypingStreamOptions<Other extends { id: string }> {
  /** Already subscribed to the conversation's typing channel (and maybe to `Other` events, for `guard`). */
  live: EventStream<TypingSignal | Other>;
  /** Tells signals from other events and sees those first; throwing ends the stream with that error. */
  guard: (event: TypingSignal | Other) => event is TypingSignal;
  /** The subscriber: their own signals are never shown to them. */
  viewerId: string;
  /** The longest a typing=true may last, whatever its expiresAt says (clock skew between processes). */
  lapseMs: number;
}

/**
 * Others' typing signals for one subscriber. The lapse is kept here, on the
 * subscriber's process: a typing=true that is not renewed by its expiresAt
 * becomes a typing=false for this subscriber, wherever the typist's signals
 * were published and even if that process died meanwhile. A typing=false for
 * someone this stream does not show as typing is dropped, so publishers may
 * end typing without knowing whether it had started (sendMessage does).
 */
export function typingStream<Other extends { id: string }>({ live, guard, viewerId, lapseMs }: TypingStreamOptions<Other>): AsyncIterableIterator<TypingSignal> {
  async function* run(): AsyncGenerator<TypingSignal> {
    const lapseTimers = new Map<string, NodeJS.Timeout>();
    const lapsed: TypingSignal[] = [];
    let wake: (() => void) | null = null;
    let nextSignal: Promise<IteratorResult<TypingSignal | Other>> | null = null;
    let counter = 0;

    const startLapse = (signal: TypingSignal) => {
      const delay = Math.min(Math.max(Date.parse(signal.expiresAt) - Date.now(), 0), lapseMs);
      const timer = setTimeout(() => {
        lapseTimers.delete(signal.userId);
        counter += 1;
        lapsed.push({ ...signal, id: `lapse:${counter}`, typing: false, expiresAt: new Date().toISOString() });
        wake?.();
      }, delay);
      lapseTimers.set(signal.userId, timer);
    };

    try {
      for (;;) {
        const lapse = lapsed.shift();
        if (lapse) {
          yield lapse;
          continue;
        }
        // One pending read of the live stream survives wake-ups by lapse timers.
        nextSignal ??= live.next();
        const woken = new Promise<null>((resolve) => (wake = () => resolve(null)));
        const result = await Promise.race([nextSignal, woken]);
        wake = null;
        if (result === null) continue;
        nextSignal = null;
        if (result.done) return;
        const signal = result.value;
        if (!guard(signal) || signal.userId === viewerId) continue;
        const running = lapseTimers.get(signal.userId);
        clearTimeout(running);
        lapseTimers.delete(signal.userId);
        if (signal.typing) {
          startLapse(signal);
          yield signal;
        } else if (running !== undefined) {
          yield signal;
        }
      }
    } finally {
      for (const timer of lapseTimers.values()) clearTimeout(timer);
    }
  }
  return closingWith(run(), live);
}
