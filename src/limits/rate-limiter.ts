import { LUA_NOW_MS, openCounterRedis, readyAtStart } from './redis-counters.js';

/** A sliding-window limit: at most `limit` hits in any `windowMs`. */
export interface RateLimit {
  /** Names the limit in keys, e.g. `sendMessage`. */
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  /**
   * Counts one hit of `subject` (a user id) against the limit. Resolves null
   * when allowed, or the milliseconds until a hit would be allowed again;
   * refused hits are not counted.
   */
  hit(limit: RateLimit, subject: string): Promise<number | null>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  /** With Redis every process of the cluster counts in one place; without, this process counts. */
  redisUrl: string | null;
  /** Key prefix, so deployments and tests can share one Redis. */
  prefix: string;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return options.redisUrl ? redisRateLimiter(options.redisUrl, options.prefix) : localRateLimiter();
}

interface Window {
  windowMs: number;
  /** Times of counted hits, oldest first. */
  hits: number[];
}

const SWEEP_EVERY_MS = 60_000;

function localRateLimiter(): RateLimiter & { hitAt(limit: RateLimit, subject: string, now: number): number | null } {
  const windows = new Map<string, Window>();
  let lastSweep = Date.now();

  // Users who stopped sending would otherwise keep their entry forever.
  const sweep = (now: number) => {
    lastSweep = now;
    for (const [key, window] of windows) {
      const newest = window.hits[window.hits.length - 1];
      if (newest === undefined || newest <= now - window.windowMs) windows.delete(key);
    }
  };

  const limiter = {
    hitAt(limit: RateLimit, subject: string, now: number): number | null {
      if (now - lastSweep > SWEEP_EVERY_MS) sweep(now);
      const key = `${limit.name}:${subject}`;
      let window = windows.get(key);
      if (!window) {
        window = { windowMs: limit.windowMs, hits: [] };
        windows.set(key, window);
      }
      const hits = window.hits;
      while (hits.length > 0 && hits[0]! <= now - limit.windowMs) hits.shift();
      if (hits.length < limit.limit) {
        hits.push(now);
        return null;
      }
      return Math.max(1, hits[0]! + limit.windowMs - now);
    },
    hit: async (limit: RateLimit, subject: string) => limiter.hitAt(limit, subject, Date.now()),
    close: async () => windows.clear(),
  };
  return limiter;
}

/**
 * A sorted set of hit times per key, trimmed to the window, checked and added
 * to atomically. Time comes from the Redis server, so processes with skewed
 * clocks still share one window.
 */
const SLIDING_WINDOW_SCRIPT = `${LUA_NOW_MS}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

function redisRateLimiter(url: string, prefix: string): RateLimiter {
  // While Redis is away mutations must keep working (CONTRACT.md "Delivery"): hits are counted in-process then.
  const redis = openCounterRedis(url);
  const fallback = localRateLimiter();
  let counter = 0;
  const ready = () => redis.status === 'ready';
  // A hit at start waits for a Redis that is still connecting, once.
  const firstReady = readyAtStart(redis);

  return {
    async hit(limit, subject) {
      if (!ready() && !((await firstReady) && ready())) return fallback.hit(limit, subject);
      counter += 1;
      try {
        const key = `${prefix}ratelimit:${limit.name}:${subject}`;
        const member = `${process.pid}:${counter}:${Math.random().toString(36).slice(2)}`;
        const waitMs = Number(await redis.eval(SLIDING_WINDOW_SCRIPT, 1, key, limit.limit, limit.windowMs, member));
        return waitMs > 0 ? waitMs : null;
      } catch {
        return fallback.hit(limit, subject);
      }
    },
    async close() {
      await fallback.close();
      redis.disconnect();
    },
  };
}
