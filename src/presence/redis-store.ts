import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PresenceState, PresenceStore, Transition } from './store.js';

/**
 * Presence shared by a cluster through Redis. Keys (under the PubSub prefix):
 *   presence:procs            sorted set: live process ids, scored by their last heartbeat (ms)
 *   presence:alive:<proc>     heartbeat, expires after the TTL (Redis's clock) unless renewed
 *   presence:held:<proc>      hash user → 1: the users that process holds
 *   presence:count            hash user → number of processes holding the user
 *   presence:version          hash user → version of the user's presence, raised on every change
 *   presence:seen             hash user → ms when the user went offline
 * Every change runs as one Lua script, so counts and versions never disagree,
 * and a dead process's users are taken offline exactly once, by whichever
 * live process notices first that its heartbeat expired.
 */

/** Not registered (the process was declared dead, or Redis lost its data): the caller resyncs. */
const UNREGISTERED = -1;

// A version is at least the clock in ms, so versions keep rising even after
// Redis loses its data; within Redis, each change of a user adds at least 1.
const BUMP = `
local function bump(key, user, now)
  local v = math.max(tonumber(redis.call('HGET', key, user) or '0') + 1, tonumber(now))
  redis.call('HSET', key, user, string.format('%d', v))
  return v
end`;

// KEYS: held, count, version, procs. ARGV: proc, user, now. Returns the new version when the user came online.
const ACQUIRE = `${BUMP}
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then return ${UNREGISTERED} end
if redis.call('HSETNX', KEYS[1], ARGV[2], 1) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then return bump(KEYS[3], ARGV[2], ARGV[3]) end
return 0`;

// KEYS: held, count, version, seen, procs. ARGV: proc, user, now. Returns the new version when the user went offline.
const RELEASE = `${BUMP}
if not redis.call('ZSCORE', KEYS[5], ARGV[1]) then return ${UNREGISTERED} end
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
  return bump(KEYS[3], ARGV[2], ARGV[3])
end
return 0`;

// KEYS: alive, procs. ARGV: proc, ttl, now. 1 renewed, 0 not registered.
const HEARTBEAT = `
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`;

// Makes the process's entries exactly the users it holds, and registers it.
// KEYS: alive, held, count, version, seen, procs. ARGV: proc, ttl, now, users...
// Returns flat triples: user, 1|0 (online), version.
const SYNC = `${BUMP}
local wanted = {}
for i = 4, #ARGV do wanted[ARGV[i]] = true end
local had = {}
local changes = {}
if redis.call('ZSCORE', KEYS[6], ARGV[1]) then
  for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
    had[user] = true
    if not wanted[user] then
      redis.call('HDEL', KEYS[2], user)
      if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
        redis.call('HDEL', KEYS[3], user)
        redis.call('HSET', KEYS[5], user, ARGV[3])
        table.insert(changes, user); table.insert(changes, 0); table.insert(changes, bump(KEYS[4], user, ARGV[3]))
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
      table.insert(changes, user); table.insert(changes, 1); table.insert(changes, bump(KEYS[4], user, ARGV[3]))
    end
  end
end
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return changes`;

// Takes a process's users offline: a dead one (only once its heartbeat key expired), or this one leaving.
// A dead process's users were last seen at its last heartbeat.
// KEYS: alive, held, count, version, seen, procs. ARGV: proc, now, force.
// Returns the last-seen ms, then flat pairs: user, version.
const REAP = `${BUMP}
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local seen = ARGV[2]
if ARGV[3] ~= '1' then seen = redis.call('ZSCORE', KEYS[6], ARGV[1]) or ARGV[2] end
local changes = { seen }
for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
    redis.call('HDEL', KEYS[3], user)
    redis.call('HSET', KEYS[5], user, seen)
    table.insert(changes, user); table.insert(changes, bump(KEYS[4], user, ARGV[2]))
  end
end
redis.call('DEL', KEYS[2], KEYS[1])
redis.call('ZREM', KEYS[6], ARGV[1])
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

  /** REAP's answer: the last-seen ms first, then user/version pairs. */
  const reaped = (flat: unknown): Transition[] => {
    const [seen, ...items] = flat as (string | number)[];
    const at = new Date(Number(seen));
    const transitions: Transition[] = [];
    for (let i = 0; i < items.length; i += 2) {
      transitions.push({ userId: String(items[i]), online: false, version: Number(items[i + 1]), at });
    }
    return transitions;
  };

  return {
    async acquire(userId) {
      const at = new Date();
      return single(userId, true, await run(ACQUIRE, [held(proc), count, version, procs], [proc, userId, at.getTime()]), at);
    },
    async release(userId) {
      const at = new Date();
      return single(userId, false, await run(RELEASE, [held(proc), count, version, seen, procs], [proc, userId, at.getTime()]), at);
    },
    // The count hash holds users with at least one holder (RELEASE and REAP delete the others).
    countOnline: () => redis.hlen(count),
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
      const renewed = !resync && Number(await run(HEARTBEAT, [alive(proc), procs], [proc, ttlMs, at.getTime()])) === 1;
      if (!renewed) {
        const flat = (await run(SYNC, processKeys(proc), [proc, ttlMs, at.getTime(), ...heldUsers])) as (string | number)[];
        for (let i = 0; i < flat.length; i += 3) {
          transitions.push({ userId: String(flat[i]), online: Number(flat[i + 1]) === 1, version: Number(flat[i + 2]), at });
        }
      }
      for (const other of await redis.zrange(procs, 0, -1)) {
        if (other === proc) continue;
        const result = (await run(REAP, processKeys(other), [other, at.getTime(), '0'])) as unknown[];
        if (result.length > 0) transitions.push(...reaped(result));
      }
      return transitions;
    },
    async leave() {
      return reaped(await run(REAP, processKeys(proc), [proc, Date.now(), '1']));
    },
    async close() {
      // Not QUIT: with Redis down it would wait for a reconnection and hold up the shutdown.
      redis.disconnect();
    },
  };
}
