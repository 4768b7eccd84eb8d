import type { Logger } from 'pino';
import type { DatabaseHandle, DbSession } from '../db/client.js';
import type { PubSub } from './index.js';
import { pruneOutbox, readOutboxAfter } from '../db/outbox.js';

/** Any fixed number; the relay leader of a cluster is whoever holds this session lock. */
const RELAY_LOCK_KEY = 7_263_540_002;
const BATCH_SIZE = 500;
const PRUNE_EVERY_MS = 60_000;
/**
 * How often, at most, the leader records how far it got. A new leader resumes
 * from the record and repeats what came after it, which subscribers drop by id;
 * a record per batch cost a committed write per mutation under load.
 */
const PROGRESS_SAVE_MS = 200;

export interface RelayOptions {
  database: DatabaseHandle;
  pubsub: PubSub;
  log: Logger;
  /** Poll interval: a lost NOTIFY costs at most this much delay. */
  pollMs: number;
  /** Published rows older than this many hours are pruned by the leader. */
  retentionHours: number;
  /** Called once per outbox event published (for metrics). */
  onPublished?: (topic: string) => void;
}

export interface Relay {
  readonly isLeader: boolean;
  /** Id of the newest outbox row this process has published (as leader). */
  readonly lastPublishedId: string;
  start(): void;
  /** Publishes what is committed (when leader), then releases leadership. */
  stop(): Promise<void>;
}

/**
 * Outbox → PubSub. Every process runs one; the one holding the advisory lock
 * publishes, in id order (= commit order, see event_order_lock), a batch per
 * PubSub message, and records how far it got. A new leader resumes from that
 * record; events it repeats are dropped by subscribers, which remember the
 * last id they saw.
 */
export function createRelay({ database, pubsub, log, pollMs, retentionHours, onPublished }: RelayOptions): Relay {
  let lastPrunedAt = 0;
  let session: DbSession | null = null;
  let leader = false;
  let lastPublishedId = '0';
  /** What outbox_relay holds, and when it was written. */
  let savedId = '0';
  let savedAt = 0;
  let running = false;
  let wake: (() => void) | null = null;
  let wokenEarly = false;
  /** Set while the PubSub refuses publishes: wake-ups then wait for the next poll instead of hammering it. */
  let pubsubDown = false;
  let loop: Promise<void> = Promise.resolve();

  const signal = () => {
    wokenEarly = true;
    wake?.();
  };

  const loseSession = (why: string) => {
    if (leader) log.warn({ why }, 'relay lost leadership');
    leader = false;
    const old = session;
    session = null;
    void old?.close();
  };

  async function ensureSession(): Promise<DbSession> {
    if (session) return session;
    const opened = await database.openSession();
    opened.onLost((error) => {
      if (session === opened) loseSession(error.message);
    });
    session = opened;
    return opened;
  }

  async function tryLead(current: DbSession): Promise<void> {
    const [row] = await current.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [RELAY_LOCK_KEY]);
    if (!row?.locked) return;
    await current.listen('outbox_wakeup', signal);
    const [state] = await current.query<{ last_published_id: string }>('select last_published_id::text from outbox_relay where id = 1');
    lastPublishedId = state?.last_published_id ?? '0';
    savedId = lastPublishedId;
    leader = true;
    log.info({ lastPublishedId }, 'relay is the leader');
  }

  async function publishPending(current: DbSession): Promise<void> {
    for (;;) {
      const events = await readOutboxAfter(database.db, lastPublishedId, BATCH_SIZE);
      if (events.length === 0) return;
      const last = events[events.length - 1]!.id;
      try {
        await pubsub.publishOutbox(events);
      } catch (error) {
        // PubSub unreachable: keep leadership, retry the batch on the next tick.
        if (!pubsubDown) log.warn({ err: error }, 'relay cannot publish; retrying every poll until the PubSub is back');
        pubsubDown = true;
        return;
      }
      if (pubsubDown) log.info('relay publishes again');
      pubsubDown = false;
      lastPublishedId = last;
      if (onPublished) for (const event of events) onPublished(event.topic);
      await saveProgress(current, false);
      if (events.length < BATCH_SIZE) return;
      // A turn of the event loop between full batches: with the embedded database no query waits on
      // I/O, and a backlog would otherwise keep every socket of this process from being written or read.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function saveProgress(current: DbSession, now: boolean): Promise<void> {
    if (lastPublishedId === savedId || (!now && Date.now() - savedAt < PROGRESS_SAVE_MS)) return;
    const id = lastPublishedId;
    await current.query('update outbox_relay set last_published_id = $1, updated_at = now() where id = 1', [id]);
    savedId = id;
    savedAt = Date.now();
  }

  async function tick(): Promise<void> {
    try {
      const current = await ensureSession();
      if (!leader) await tryLead(current);
      if (leader) await publishPending(current);
      // What a throttled save left behind is recorded by a later tick (at the latest the next poll).
      if (leader) await saveProgress(current, false);
      if (leader && Date.now() - lastPrunedAt > PRUNE_EVERY_MS) {
        lastPrunedAt = Date.now();
        const pruned = await pruneOutbox(database.db, lastPublishedId, retentionHours);
        if (pruned > 0) log.info({ pruned, retentionHours }, 'pruned published outbox rows');
      }
    } catch (error) {
      log.error({ err: error }, 'relay step failed; retrying');
      loseSession((error as Error).message);
    }
  }

  async function run(): Promise<void> {
    while (running) {
      wokenEarly = false;
      await tick();
      if (!running || (wokenEarly && !pubsubDown)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          if (pubsubDown) return;
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }

  return {
    get isLeader() {
      return leader;
    },
    get lastPublishedId() {
      return lastPublishedId;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      if (session && leader) await publishPending(session).catch(() => {});
      if (session && leader) await saveProgress(session, true).catch(() => {});
      if (session && leader) await session.query('select pg_advisory_unlock($1)', [RELAY_LOCK_KEY]).catch(() => {});
      leader = false;
      await session?.close();
      session = null;
    },
  };
}
