import type { Db } from '../db/client.js';
import { lastPublishedOutboxId, readOutboxAfter } from '../db/outbox.js';
import type { Logger } from '../log.js';
import type { PubSub } from './index.js';
import { routeOutboxEvent } from './topics.js';

const BATCH = 1000;

/**
 * Redis pub/sub forgets what it could not deliver. This process follows the
 * relay's progress; when its subscriber connection returns after an outage,
 * it reads the outbox from the last progress it saw and hands those events to
 * its own subscribers (who drop any they already had). The outbox is the truth.
 */
export async function followRelayProgress(pubsub: PubSub, db: Db, log: Logger): Promise<() => Promise<void>> {
  let watermark = await lastPublishedOutboxId(db);
  const progress = await pubsub.subscribe([['relay.progress', 'all']], { dedupe: false });
  const following = (async () => {
    for await (const event of progress) watermark = event.id;
  })();

  pubsub.setCatchUp(async (deliverLocally) => {
    let after = watermark;
    let delivered = 0;
    for (;;) {
      const events = await readOutboxAfter(db, after, BATCH);
      if (events.length === 0) break;
      deliverLocally(events.flatMap(routeOutboxEvent));
      delivered += events.length;
      after = events[events.length - 1]!.id;
      if (events.length < BATCH) break;
    }
    log.info({ from: watermark, to: after, events: delivered }, 'caught up from the outbox after a PubSub outage');
  });

  return async () => {
    await progress.return();
    await following;
  };
}
