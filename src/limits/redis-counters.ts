import { Redis } from 'ioredis';

/**
 * A Redis connection for counters that must not wait for a Redis that is
 * away: no offline queue and a one-second command timeout, so a call fails
 * fast and its caller counts in this process instead (limits keep holding,
 * per process, while Redis is down).
 */
export function openCounterRedis(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 });
  redis.on('error', () => {});
  return redis;
}

/** How long a starting process waits for Redis before it counts on its own. */
const FIRST_CONNECT_WAIT_MS = 2000;

/** Whether `redis` became ready within FIRST_CONNECT_WAIT_MS of this call (true at once when it is). */
export function readyAtStart(redis: Redis): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), FIRST_CONNECT_WAIT_MS).unref();
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Lua preamble: `now` in milliseconds by the Redis server's clock, so processes with skewed clocks agree. */
export const LUA_NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
