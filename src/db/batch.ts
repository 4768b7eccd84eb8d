/**
 * Our own loader rather than `dataloader` / @pothos/plugin-dataloader: those
 * keep a loader per request context, and every subscriber of an event has its
 * own context, so each would query alone. These loaders are per database and
 * batch a whole turn of the event loop (setImmediate, not a microtask), so one
 * event costs one query however many subscribers of this process it reaches.
 */
import type { Db } from './client.js';

export interface BatchLoaderOptions {
  /**
   * Keep this many loaded values for later calls; only for rows that never
   * change (messages). 0 keeps nothing past the batch.
   * @default 0
   */
  cacheSize?: number;
}

export interface BatchLoader<K, V> {
  (key: K): Promise<V | undefined>;
  /**
   * A value read in this turn with another row (a message's sender with the
   * message): calls for the rest of the turn get it without a query of their own.
   * Kept past the turn only where the loader keeps values anyway (cacheSize).
   */
  prime(key: K, value: V): void;
}

/**
 * Loads by key, collecting the keys asked for until the next turn of the
 * event loop into one query. One event reaching many subscribers of a process
 * makes them all ask at once: one query per event, not one per subscriber.
 */
export function createBatchLoader<K, V>(load: (keys: K[]) => Promise<Map<K, V>>, options: BatchLoaderOptions = {}): BatchLoader<K, V> {
  const cacheSize = options.cacheSize ?? 0;
  const cache = new Map<K, V>();
  let open: { keys: Set<K>; result: Promise<Map<K, V>> } | null = null;

  function remember(key: K, value: V): void {
    if (cacheSize === 0) return;
    cache.delete(key);
    cache.set(key, value);
    // A Map iterates in insertion order: the first key is the least recently stored.
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as K);
  }

  function currentBatch(): { keys: Set<K>; result: Promise<Map<K, V>> } {
    if (open) return open;
    const keys = new Set<K>();
    const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // Keys asked for from now on go into the next batch.
      open = null;
      return load([...keys]);
    });
    open = { keys, result };
    return open;
  }

  let primed: Map<K, V> | null = null;
  function prime(key: K, value: V): void {
    remember(key, value);
    if (!primed) {
      const thisTurn = new Map<K, V>();
      primed = thisTurn;
      setImmediate(() => {
        if (primed === thisTurn) primed = null;
      });
    }
    primed.set(key, value);
  }

  const get = async (key: K): Promise<V | undefined> => {
    const known = cache.get(key) ?? primed?.get(key);
    if (known !== undefined) return known;
    const batch = currentBatch();
    batch.keys.add(key);
    const value = (await batch.result).get(key);
    if (value !== undefined) remember(key, value);
    return value;
  };
  return Object.assign(get, { prime });
}

/**
 * One value per database handle, built on first use: loaders are process-wide
 * (their batches span every subscriber), and a test process may run several servers.
 */
export function perDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const byDb = new WeakMap<Db, T>();
  return (db) => {
    let value = byDb.get(db);
    if (value === undefined) {
      value = build(db);
      byDb.set(db, value);
    }
    return value;
  };
}
