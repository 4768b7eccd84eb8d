import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { lastSeenOf, saveLastSeen } from '../db/presence.js';
import type { Logger } from '../observability/log.js';
import type { PubSub } from '../pubsub/index.js';
import { redisStore } from './redis-store.js';
import { inProcessStore, type PresenceState, type PresenceStore, type Transition } from './store.js';

export type { PresenceState } from './store.js';

/**
 * Who is online: a user holding at least one acknowledged graphql-ws
 * connection or open SSE stream on any process. Each process counts its own
 * connections per user and tells the store only about its first and last one.
 */
export interface Presence {
  /** Counts one connection or stream of the user; the returned function ends it (calling it again does nothing). */
  hold(userId: string): () => void;
  /** Current presence; lastSeenAt from the store, else from PostgreSQL (it outlives restarts). */
  read(userIds: readonly string[]): Promise<Map<string, PresenceState>>;
  /** The users among `userIds` who are online now (the store alone: no database query). */
  onlineUsers(userIds: readonly string[]): Promise<Set<string>>;
  /** How many users are online now, cluster-wide. */
  countOnline(): Promise<number>;
  start(): Promise<void>;
  /** Takes this process's users offline (unless other processes hold them) and stops the heartbeat. */
  stop(): Promise<void>;
}

export interface PresenceOptions {
  config: Config;
  db: Db;
  pubsub: PubSub;
  log: Logger;
}

export function createPresence({ config, db, pubsub, log }: PresenceOptions): Presence {
  const local = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  let resyncNeeded = true;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let upkeep: Promise<void> = Promise.resolve();
  let upkeepRunning = false;

  const store: PresenceStore = config.redisUrl
    ? redisStore({
        url: config.redisUrl,
        prefix: config.pubsubPrefix,
        ttlMs: config.presence.ttlMs,
        onUnregistered: () => {
          resyncNeeded = true;
          runUpkeep();
        },
      })
    : inProcessStore();

  async function announce(transition: Transition | null): Promise<void> {
    if (!transition) return;
    const { userId, online, version, at } = transition;
    if (!online) {
      await saveLastSeen(db, userId, at).catch((error: unknown) => log.warn({ err: error, userId }, 'presence: lastSeenAt not saved'));
    }
    const change = { id: String(version), userId, online, version, lastSeenAt: online ? null : at.toISOString() };
    await Promise.all([pubsub.publish('presence.changed', userId, change), pubsub.publish('presence.all', 'all', change)]);
  }

  /** Store calls of one user run one after another, so its first-in and last-out never swap. */
  function enqueue(userId: string, work: () => Promise<void>): void {
    const next = (chains.get(userId) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      // The store may now disagree with this process; the next upkeep rewrites its entries.
      resyncNeeded = true;
      log.warn({ err: error, userId }, 'presence: store update failed; will resync');
    });
    chains.set(userId, next);
    void next.then(() => {
      if (chains.get(userId) === next) chains.delete(userId);
    });
  }

  function runUpkeep(): void {
    if (upkeepRunning || stopped) return;
    upkeepRunning = true;
    upkeep = (async () => {
      try {
        const resync = resyncNeeded;
        resyncNeeded = false;
        try {
          const transitions = await store.maintain([...local.keys()], resync);
          for (const transition of transitions) await announce(transition);
        } catch (error) {
          resyncNeeded = true;
          log.warn({ err: error }, 'presence: heartbeat failed');
        }
      } finally {
        upkeepRunning = false;
      }
    })();
  }

  return {
    hold(userId) {
      if (stopped) return () => {};
      const count = (local.get(userId) ?? 0) + 1;
      local.set(userId, count);
      if (count === 1) enqueue(userId, async () => announce(await store.acquire(userId)));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (local.get(userId) ?? 1) - 1;
        if (left > 0) {
          local.set(userId, left);
          return;
        }
        local.delete(userId);
        // After stop() began, leave() takes everyone offline at once.
        if (!stopped) enqueue(userId, async () => announce(await store.release(userId)));
      };
    },
    async read(userIds) {
      const states = await store.read(userIds);
      const unknown = [...states].filter(([, state]) => !state.online && state.lastSeenAt === null).map(([userId]) => userId);
      if (unknown.length > 0) {
        for (const [userId, lastSeenAt] of await lastSeenOf(db, unknown)) states.set(userId, { ...states.get(userId)!, lastSeenAt });
      }
      return states;
    },
    countOnline: () => store.countOnline(),
    async onlineUsers(userIds) {
      const states = await store.read(userIds);
      return new Set([...states].filter(([, state]) => state.online).map(([userId]) => userId));
    },
    async start() {
      runUpkeep();
      await upkeep;
      timer = setInterval(runUpkeep, config.presence.heartbeatMs);
      timer.unref();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await upkeep;
      await Promise.all(chains.values());
      try {
        for (const transition of await store.leave()) await announce(transition);
      } catch (error) {
        log.warn({ err: error }, 'presence: leaving failed; other processes will reap this one');
      }
      local.clear();
      await store.close();
    },
  };
}
