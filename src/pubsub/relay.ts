import type { Logger } from 'pino';
import type { DatabaseHandle, Db, DbSession } from '../db/client.js';
import type { PubSub } from './index.js';
import { lastOutboxPosition, pruneOutbox, readOutboxAfter, takeOutboxPositions } from '../db/outbox.js';
import { RelayFloor } from './relay-floor.js';
import type { OutboxEvent } from './topics.js';

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
/** How often a follower tries to take over: a dead leader's events wait at most this long (plus its session's end). */
const FOLLOWER_POLL_MS = 500;
/**
 * How long a woken leader waits for more commits before it positions: latency it adds, against a
 * statement per mutation. Each take is also a PubSub message and a delivery read per process, so at
 * a moderate rate this batches the whole path: per-user at 1,000/s, 6 ms cost the server 0.50-0.53 ms
 * of CPU per event against 0.59-0.62 with 2 ms, delivery p50 8 against 5 ms, p99 no worse.
 */
const WAKE_GATHER_MS = 6;
/**
 * The longest an idle leader waits between polls. A poll is a statement (in the embedded database a
 * few hundred microseconds of this process's CPU): at RELAY_POLL_MS all day an idle laptop server
 * spent an eighth of a core on it. A wake-up, or a poll that finds rows, returns to RELAY_POLL_MS.
 */
const IDLE_POLL_MS = 100;

export interface RelayOptions {
  database: DatabaseHandle;
  pubsub: PubSub;
  log: Logger;
  /** How often the leader looks for committed rows without a position (writers do not notify). */
  pollMs: number;
  /** Published rows older than this many hours are pruned by the leader. */
  retentionHours: number;
  /** Called once per outbox event published (for metrics). */
  onPublished?: (topic: string) => void;
}

export interface Relay {
  readonly isLeader: boolean;
  /** Position of the newest outbox event this process has published (as leader). */
  readonly lastPublishedPosition: string;
  start(): void;
  /** Looks at the outbox now instead of at the next poll: this process just committed events. */
  wake(): void;
  /** Publishes what is committed (when leader), then releases leadership. */
  stop(): Promise<void>;
}

/**
 * Outbox → PubSub. Every process runs one; the one holding the advisory lock
 * is the leader. It gives committed rows without a position the next positions
 * (outbox_take_positions: per key that is commit order), publishes them as one
 * PubSub message per batch, and records how far it got. A new leader first
 * republishes what was positioned after that record; events it repeats are
 * dropped by subscribers, which remember the last position they saw.
 */
export function createRelay({ database, pubsub, log, pollMs, retentionHours, onPublished }: RelayOptions): Relay {
  let session: DbSession | null = null;
  let leader = false;
  let lastPublishedPosition = '0';
  /** The newest position handed out: positioned rows after lastPublishedPosition are published before new ones are taken. */
  let positionedUpTo = '0';
  /** What outbox_relay holds, and when it was written. */
  let savedPosition = '0';
  let savedAt = 0;
  let running = false;
  /** Set while the PubSub refuses publishes: wake-ups then wait for the next poll instead of hammering it. */
  let pubsubDown = false;
  let loop: Promise<void> = Promise.resolve();
  const floor = new RelayFloor();
  const waits = createLoopWaits(pollMs, () => !pubsubDown && leader);
  const prune = createPruner(database.db, retentionHours, log);

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
    const [state] = await current.query<{ position: string }>('select last_published_position::text as position from outbox_relay where id = 1');
    lastPublishedPosition = state?.position ?? '0';
    savedPosition = lastPublishedPosition;
    positionedUpTo = await lastOutboxPosition(current);
    // Every leadership begins here, and the floor vouched for by the last one's takes is not this session's.
    floor.reset();
    leader = true;
    log.info({ lastPublishedPosition, positionedUpTo }, 'relay is the leader');
  }

  /** What to publish next: what an earlier leader (or a failed publish) left positioned, else new positions. */
  async function nextBatch(current: DbSession): Promise<OutboxEvent<unknown>[]> {
    if (lastPublishedPosition !== positionedUpTo) {
      const left = await readOutboxAfter(database.db, lastPublishedPosition, BATCH_SIZE);
      if (left.length > 0) return left;
    }
    const { events, horizon } = await takeOutboxPositions(current, floor.afterId, BATCH_SIZE);
    floor.observe(horizon, events.length < BATCH_SIZE);
    if (events.length > 0) positionedUpTo = events[events.length - 1]!.id;
    return events;
  }

  async function publishPending(current: DbSession): Promise<void> {
    for (;;) {
      const events = await nextBatch(current);
      if (events.length === 0) {
        waits.foundNothing();
        return;
      }
      waits.foundEvents();
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
      lastPublishedPosition = last;
      if (onPublished) for (const event of events) onPublished(event.topic);
      await saveProgress(current, false);
      if (events.length < BATCH_SIZE) return;
      // A turn of the event loop between full batches: with the embedded database no query waits on
      // I/O, and a backlog would otherwise keep every socket of this process from being written or read.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function saveProgress(current: DbSession, now: boolean): Promise<void> {
    if (lastPublishedPosition === savedPosition || (!now && Date.now() - savedAt < PROGRESS_SAVE_MS)) return;
    const position = lastPublishedPosition;
    await current.query('update outbox_relay set last_published_position = $1, updated_at = now() where id = 1', [position]);
    savedPosition = position;
    savedAt = Date.now();
  }

  async function tick(): Promise<void> {
    try {
      const current = await ensureSession();
      if (!leader) await tryLead(current);
      if (leader) await publishPending(current);
      // What a throttled save left behind is recorded by a later tick (at the latest the next poll).
      if (leader) await saveProgress(current, false);
      if (leader) await prune(lastPublishedPosition);
    } catch (error) {
      log.error({ err: error }, 'relay step failed; retrying');
      loseSession((error as Error).message);
    }
  }

  async function run(): Promise<void> {
    while (running) {
      waits.beginTick();
      await tick();
      if (!running) break;
      if (waits.wokenDuringTick() && !pubsubDown && leader) {
        // Woken while it worked: the next batch gathers what commits in the next moment instead of one row per mutation.
        await waits.gather();
        continue;
      }
      // Followers only try for leadership: no need to ask as often as the leader polls.
      await waits.pause(leader ? waits.idleAwareWait() : Math.max(pollMs, FOLLOWER_POLL_MS));
    }
  }

  return {
    get isLeader() {
      return leader;
    },
    get lastPublishedPosition() {
      return lastPublishedPosition;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake() {
      waits.wake();
    },
    async stop() {
      running = false;
      waits.endPause();
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

/**
 * The relay loop's waits between ticks: the poll interval, longer while
 * idle, cut short when a mutation of this process wakes the leader.
 */
function createLoopWaits(pollMs: number, mayCutShort: () => boolean) {
  /** While the loop waits: its timer, and how to end the wait now. */
  let waiting: { timer: ReturnType<typeof setTimeout>; resume: () => void; woken: boolean } | null = null;
  let wokenEarly = false;
  /** Polls in a row that found nothing: an idle leader polls less and less often, up to IDLE_POLL_MS. */
  let idlePolls = 0;
  const gatherMs = Math.min(pollMs, WAKE_GATHER_MS);
  return {
    beginTick() {
      wokenEarly = false;
    },
    wokenDuringTick: () => wokenEarly,
    foundNothing() {
      idlePolls += 1;
    },
    foundEvents() {
      idlePolls = 0;
    },
    idleAwareWait: () => Math.max(pollMs, Math.min(IDLE_POLL_MS, pollMs * 2 ** Math.min(idlePolls, 10))),
    /** A short gather: under load, each positioning statement (a committed write) takes many rows, not one. */
    gather: () => new Promise<void>((resolve) => setTimeout(resolve, gatherMs)),
    pause(ms: number): Promise<void> {
      return new Promise<void>((resolve) => {
        waiting = { timer: setTimeout(resolve, ms), resume: resolve, woken: false };
      }).finally(() => {
        waiting = null;
      });
    },
    wake() {
      idlePolls = 0;
      wokenEarly = true;
      if (!waiting || waiting.woken || !mayCutShort()) return;
      waiting.woken = true;
      clearTimeout(waiting.timer);
      waiting.timer = setTimeout(waiting.resume, gatherMs);
    },
    /** Ends the current wait at once (stop). */
    endPause() {
      if (!waiting) return;
      clearTimeout(waiting.timer);
      waiting.resume();
    },
  };
}

/** Prunes published outbox rows past the retention, at most every PRUNE_EVERY_MS. */
function createPruner(db: Db, retentionHours: number, log: Logger): (publishedUpTo: string) => Promise<void> {
  let lastPrunedAt = 0;
  return async (publishedUpTo) => {
    if (Date.now() - lastPrunedAt <= PRUNE_EVERY_MS) return;
    lastPrunedAt = Date.now();
    const pruned = await pruneOutbox(db, publishedUpTo, retentionHours);
    if (pruned > 0) log.info({ pruned, retentionHours }, 'pruned published outbox rows');
  };
}
