import type { Db } from '../db/client.js';
import { lastPublishedOutboxPosition, readOutboxAfter } from '../db/outbox.js';
import type { Logger } from '../observability/log.js';
import type { PubSub } from './index.js';
import { routeOutboxEvent } from './topics.js';

const BATCH = 1000;

/**
 * Redis pub/sub forgets what it could not deliver. When this process's
 * subscriber connection returns after an outage, it reads the outbox from the
 * position of the newest event it had received (or, before the first, from
 * where the relay stood when it started) and hands those events to its own subscribers, who
 * drop any they already had. The outbox is the truth.
 */
export async function catchUpFromOutbox(pubsub: PubSub, db: Db, log: Logger): Promise<void> {
  const publishedAtStart = await lastPublishedOutboxPosition(db);
  pubsub.setCatchUp(async (deliverLocally) => {
    const from = pubsub.outboxWatermark ?? publishedAtStart;
    let after = from;
    let delivered = 0;
    for (;;) {
      const events = await readOutboxAfter(db, after, BATCH);
      if (events.length === 0) break;
      deliverLocally(events.flatMap(routeOutboxEvent));
      delivered += events.length;
      after = events[events.length - 1]!.id;
      if (events.length < BATCH) break;
    }
    log.info({ from, to: after, events: delivered }, 'caught up from the outbox after a PubSub outage');
  });
}
