import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/log.js';
import { LUA_NOW_MS, openCounterRedis, readyAtStart } from './redis-counters.js';

/**
 * Open connections per user (graphql-ws connections and SSE streams), at most
 * `max` at once across the cluster.
 */
export interface ConnectionSlots {
  /** Takes one of the user's slots: the returned function gives it back (a second call does nothing); null when all are taken. */
  take(userId: string): Promise<(() => void) | null>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ConnectionSlotsOptions {
  max: number;
  /** With Redis the cluster counts in one place; without, this process is the cluster. */
  redisUrl: string | null;
  prefix: string;
  /** How often this process renews its slots in Redis. */
  heartbeatMs: number;
  /** A slot not renewed for this long is free again (its process died). */
  ttlMs: number;
  log: Logger;
}

export function createConnectionSlots(options: ConnectionSlotsOptions): ConnectionSlots {
  return options.redisUrl ? redisSlots(options, options.redisUrl) : localSlots(options.max);
}

function localSlots(max: number): ConnectionSlots {
  const counts = new Map<string, number>();
  return {
    async take(userId) {
      const count = counts.get(userId) ?? 0;
      if (count >= max) return null;
      counts.set(userId, count + 1);
      return once(() => {
        const left = (counts.get(userId) ?? 1) - 1;
        if (left > 0) counts.set(userId, left);
        else counts.delete(userId);
      });
    },
    async start() {},
    async stop() {
      counts.clear();
    },
  };
}

/*
 * One sorted set per user: a member per open connection (`<process>:<n>`),
 * scored with the time it lapses unless its process renews it. A process
 * that dies without closing its sockets stops renewing, and its members
 * lapse after the TTL. Time comes from the Redis server, so processes with
 * skewed clocks agree.
 */
// KEYS: the user's set. ARGV: max, ttl, member. 1 taken, 0 full.
const TAKE = `${LUA_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS: the user's set. ARGV: ttl, members... Re-adds members Redis lost (a restart), so counts heal.
const RENEW = `${LUA_NOW_MS}
local lapse = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], lapse, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

function redisSlots({ max, prefix, heartbeatMs, ttlMs, log }: ConnectionSlotsOptions, url: string): ConnectionSlots {
  // No offline queue: while Redis is away, connections are counted by this process alone.
  const redis = openCounterRedis(url);
  const proc = randomUUID();
  const key = (userId: string) => `${prefix}connections:${userId}`;
  /** The members this process holds, per user: what it renews. */
  const held = new Map<string, Set<string>>();
  let counter = 0;
  let timer: NodeJS.Timeout | null = null;

  const hold = (userId: string, member: string): (() => void) => {
    let members = held.get(userId);
    if (!members) held.set(userId, (members = new Set()));
    members.add(member);
    return once(() => {
      members.delete(member);
      if (members.size === 0 && held.get(userId) === members) held.delete(userId);
      // If this fails the member lapses after the TTL, since it is no longer renewed.
      redis.zrem(key(userId), member).catch(() => {});
    });
  };

  const renew = async () => {
    if (redis.status !== 'ready' || held.size === 0) return;
    const pipeline = redis.pipeline();
    for (const [userId, members] of held) pipeline.eval(RENEW, 1, key(userId), ttlMs, ...members);
    try {
      await pipeline.exec();
    } catch (error) {
      log.warn({ err: error }, 'connection slots: renewal failed');
    }
  };

  return {
    async take(userId) {
      counter += 1;
      const member = `${proc}:${counter}`;
      if (redis.status === 'ready') {
        try {
          const taken = Number(await redis.eval(TAKE, 1, key(userId), max, ttlMs, member)) === 1;
          return taken ? hold(userId, member) : null;
        } catch (error) {
          log.warn({ err: error }, 'connection slots: Redis unavailable; counting this process only');
        }
      }
      // Redis is away: the cap still holds per process, and renewal re-registers the member later.
      if ((held.get(userId)?.size ?? 0) >= max) return null;
      return hold(userId, member);
    },
    async start() {
      timer = setInterval(() => void renew(), heartbeatMs);
      timer.unref();
      // The first connections should be counted cluster-wide, not by the fallback.
      await readyAtStart(redis);
    },
    async stop() {
      if (timer) clearInterval(timer);
      const pipeline = redis.pipeline();
      for (const [userId, members] of held) pipeline.zrem(key(userId), ...members);
      held.clear();
      if (redis.status === 'ready') await pipeline.exec().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function once(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
