import { Counter, type Registry } from 'prom-client';
import type { WebhookConfig } from '../config.js';
import type { Db } from '../db/client.js';
import {
  claimDueDeliveries,
  enqueueNewNotifications,
  pruneSettledDeliveries,
  settleFailedAttempt,
  settleSent,
  settleSkipped,
  type ClaimedDelivery,
} from '../db/webhook.js';
import type { Logger } from '../observability/log.js';
import type { Presence } from '../presence/index.js';
import { payloadOf, postPayload } from './post.js';

/** Deliveries one process sends at once; the rest wait for the next tick. */
const MAX_IN_FLIGHT = 50;
const ENQUEUE_BATCH = 1000;
/** A claimed delivery's lease outlasts its attempt by this much before another process may take it. */
const LEASE_MARGIN_MS = 5_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const KEEP_SETTLED_S = 7 * 86_400;

export interface WebhookSender {
  start(): void;
  /** Stops claiming and waits for the attempts in flight. */
  stop(): Promise<void>;
}

export interface WebhookSenderOptions {
  config: WebhookConfig;
  db: Db;
  presence: Presence;
  log: Logger;
  registry: Registry;
}

/**
 * Offline delivery: every process runs one. Each tick takes on new
 * notifications, claims due deliveries (a row is claimed by one process
 * only), skips users who are online, and posts the rest; failures come back
 * with exponential backoff until the give-up age. The state lives in
 * PostgreSQL, so a restart resumes where the cluster left off.
 */
export function createWebhookSender({ config, db, presence, log, registry }: WebhookSenderOptions): WebhookSender {
  const url = config.url;
  const deliveries = new Counter({
    name: 'realtime_webhook_deliveries_total',
    help: 'Offline webhook deliveries by outcome: sent, retrying (an attempt failed), failed (gave up), skipped',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  let tickRunning: Promise<void> = Promise.resolve();
  let lastPrune = 0;

  const retryDelayMs = (attempt: number) => Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.min(attempt - 1, 40));

  async function attempt(delivery: ClaimedDelivery, target: string): Promise<void> {
    const outcome = await postPayload(target, config.secret, payloadOf(delivery), config.timeoutMs);
    if (outcome.ok) {
      await settleSent(db, delivery.notificationId);
      deliveries.inc({ outcome: 'sent' });
      return;
    }
    const state = await settleFailedAttempt(db, delivery.notificationId, {
      error: outcome.error,
      retryInMs: retryDelayMs(delivery.attempts + 1),
      giveUpAt: new Date(delivery.createdAt.getTime() + config.giveUpS * 1000),
    });
    deliveries.inc({ outcome: state });
    log.warn({ notificationId: delivery.notificationId, attempt: delivery.attempts + 1, error: outcome.error, state }, 'webhook delivery failed');
  }

  async function tick(target: string): Promise<void> {
    // A full batch means more may be waiting behind it.
    let scanned: number;
    do {
      scanned = await enqueueNewNotifications(db, { delayS: config.offlineDelayS, giveUpS: config.giveUpS, batch: ENQUEUE_BATCH });
    } while (scanned === ENQUEUE_BATCH);
    const room = MAX_IN_FLIGHT - inFlight.size;
    if (room <= 0) return;
    const { claimed, skipped } = await claimDueDeliveries(db, { limit: room, leaseMs: config.timeoutMs + LEASE_MARGIN_MS });
    deliveries.inc({ outcome: 'skipped' }, skipped);
    if (claimed.length > 0) {
      const online = await presence.onlineUsers([...new Set(claimed.map((delivery) => delivery.userId))]);
      const seen = claimed.filter((delivery) => online.has(delivery.userId));
      await settleSkipped(db, seen.map((delivery) => delivery.notificationId), 'user online');
      deliveries.inc({ outcome: 'skipped' }, seen.length);
      for (const delivery of claimed) {
        if (online.has(delivery.userId)) continue;
        const sending = attempt(delivery, target)
          .catch((error: unknown) => log.error({ err: error, notificationId: delivery.notificationId }, 'webhook: recording an attempt failed; the lease will lapse and it is retried'))
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
    }
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      await pruneSettledDeliveries(db, KEEP_SETTLED_S);
    }
  }

  function schedule(target: string): void {
    if (!running) return;
    timer = setTimeout(() => {
      tickRunning = tick(target)
        .catch((error: unknown) => log.error({ err: error }, 'webhook tick failed; retrying'))
        .finally(() => schedule(target));
    }, config.pollMs);
  }

  return {
    start() {
      if (!url || running) return;
      if (!config.secret) log.warn('OFFLINE_WEBHOOK_URL is set without WEBHOOK_SECRET: webhook signatures use an empty key');
      running = true;
      schedule(url);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await tickRunning;
      await Promise.all(inFlight);
    },
  };
}
