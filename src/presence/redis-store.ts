import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PresenceState, PresenceStore, Transition } from './store.js';

/**
 * Presence shared by a cluster through Redis. Keys (under the PubSub prefix):
 *   presence:procs            set of live process ids
 *   presence:alive:<proc>     heartbeat, expires after the TTL unless renewed
 *   presence:held:<proc>      hash user → 1: the users that process holds
 *   presence:count            hash user → number of processes holding the user
 *   presence:version          hash user → version, +1 on every online/offline change
 *   presence:seen             hash user → ms when the user went offline
 * Every change runs as one Lua script, so counts and versions never disagree,
 * and a dead process's users are taken offline exactly once, by whichever
 * live process notices first that its heartbeat expired.
 */

/** Not registered (the process was declared dead, or Redis lost its data): the caller resyncs. */
const UNREGISTERED = -1;

// KEYS: held, count, version, procs. ARGV: proc, user. Returns the new version when the user came online.
const ACQUIRE = `
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0 then return ${UNREGISTERED} end
if redis.call('HSETNX', KEYS[1], ARGV[2], 1) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then return redis.call('HINCRBY', KEYS[3], ARGV[2], 1) end
return 0`;

// KEYS: held, count, version, seen, procs. ARGV: proc, user, now. Returns the new version when the user went offline.
const RELEASE = `
if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 0 then return ${UNREGISTERED} end
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
  return redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
return 0`;

// KEYS: alive, procs. ARGV: proc, ttl. 1 renewed, 0 not registered.
const HEARTBEAT = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// Makes the process's entries exactly the users it holds, and registers it.
// KEYS: alive, held, count, version, seen, procs. ARGV: proc, ttl, now, users...
// Returns flat triples: user, 1|0 (online), version.
const SYNC = `
local wanted = {}
for i = 4, #ARGV do wanted[ARGV[i]] = true end
local had = {}
local changes = {}
if redis.call('SISMEMBER', KEYS[6], ARGV[1]) == 1 then
  for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
    had[user] = true
    if not wanted[user] then
      redis.call('HDEL', KEYS[2], user)
      if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
        redis.call('HDEL', KEYS[3], user)
        redis.call('HSET', KEYS[5], user, ARGV[3])
        table.insert(changes, user); table.insert(changes, 0); table.insert(changes, redis.call('HINCRBY', KEYS[4], user, 1))
      end
    end
  end
else
  redis.call('DEL', KEYS[2])
end
for i = 4, #ARGV do
  local user = ARGV[i]
  if not had[user] then
    redis.call('HSET', KEYS[2], user, 1)
    if redis.call('HINCRBY', KEYS[3], user, 1) == 1 then
      table.insert(changes, user); table.insert(changes, 1); table.insert(changes, redis.call('HINCRBY', KEYS[4], user, 1))
    end
  end
end
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return changes`;

// Takes a process's users offline: a dead one (only if its heartbeat is gone), or this one leaving.
// KEYS: alive, held, count, version, seen, procs. ARGV: proc, now, force. Returns flat pairs: user, version.
const REAP = `
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local changes = {}
for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
    redis.call('HDEL', KEYS[3], user)
    redis.call('HSET', KEYS[5], user, ARGV[2])
    table.insert(changes, user); table.insert(changes, redis.call('HINCRBY', KEYS[4], user, 1))
  end
end
redis.call('DEL', KEYS[2], KEYS[1])
redis.call('SREM', KEYS[6], ARGV[1])
return changes`;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  ttlMs: number;
  /** Called when a script finds this process unregistered, so upkeep can resync at once. */
  onUnregistered: () => void;
}

export function redisStore({ url, prefix, ttlMs, onUnregistered }: RedisStoreOptions): PresenceStore {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', () => {});
  const proc = randomUUID();
  const key = (name: string) => `${prefix}presence:${name}`;
  const procs = key('procs');
  const count = key('count');
  const version = key('version');
  const seen = key('seen');
  const alive = (id: string) => key(`alive:${id}`);
  const held = (id: string) => key(`held:${id}`);
  const processKeys = (id: string) => [alive(id), held(id), count, version, seen, procs];

  const run = async (script: string, keys: string[], args: (string | number)[]): Promise<unknown> =>
    redis.eval(script, keys.length, ...keys, ...args);

  const single = (userId: string, online: boolean, result: unknown, at: Date): Transition | null => {
    const value = Number(result);
    if (value === UNREGISTERED) onUnregistered();
    return value > 0 ? { userId, online, version: value, at } : null;
  };

  const pairs = (flat: unknown, at: Date): Transition[] => {
    const items = flat as (string | number)[];
    const transitions: Transition[] = [];
    for (let i = 0; i < items.length; i += 2) {
      transitions.push({ userId: String(items[i]), online: false, version: Number(items[i + 1]), at });
    }
    return transitions;
  };

  return {
    async acquire(userId) {
      return single(userId, true, await run(ACQUIRE, [held(proc), count, version, procs], [proc, userId]), new Date());
    },
    async release(userId) {
      const at = new Date();
      return single(userId, false, await run(RELEASE, [held(proc), count, version, seen, procs], [proc, userId, at.getTime()]), at);
    },
    async read(userIds) {
      if (userIds.length === 0) return new Map();
      const results = await redis.multi().hmget(count, ...userIds).hmget(version, ...userIds).hmget(seen, ...userIds).exec();
      if (!results) throw new Error('presence read was aborted');
      const [counts, versions, seenAt] = results.map(([error, value]) => {
        if (error) throw error;
        return value as (string | null)[];
      }) as [(string | null)[], (string | null)[], (string | null)[]];
      return new Map(
        userIds.map((userId, i) => [
          userId,
          {
            online: Number(counts[i] ?? 0) > 0,
            version: Number(versions[i] ?? 0),
            lastSeenAt: seenAt[i] ? new Date(Number(seenAt[i])) : null,
          } satisfies PresenceState,
        ]),
      );
    },
    async maintain(heldUsers, resync) {
      const at = new Date();
      const transitions: Transition[] = [];
      const renewed = !resync && Number(await run(HEARTBEAT, [alive(proc), procs], [proc, ttlMs])) === 1;
      if (!renewed) {
        const flat = (await run(SYNC, processKeys(proc), [proc, ttlMs, at.getTime(), ...heldUsers])) as (string | number)[];
        for (let i = 0; i < flat.length; i += 3) {
          transitions.push({ userId: String(flat[i]), online: Number(flat[i + 1]) === 1, version: Number(flat[i + 2]), at });
        }
      }
      for (const other of await redis.smembers(procs)) {
        if (other === proc) continue;
        transitions.push(...pairs(await run(REAP, processKeys(other), [other, at.getTime(), '0']), at));
      }
      return transitions;
    },
    async leave() {
      const at = new Date();
      return pairs(await run(REAP, processKeys(proc), [proc, at.getTime(), '1']), at);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
