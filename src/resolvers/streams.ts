import { returnThis } from '../delivery/async-iteration.js';
import { resumeExpired } from '../errors.js';
import type { EventStream } from '../pubsub/event-stream.js';

/**
 * Wraps a generator that reads `source` so that `return()` reaches the source
 * even when the generator never started (an un-started async generator
 * ignores `return()` and would leave its subscription behind).
 */
export function closingWith<T>(generator: AsyncGenerator<T>, source: { return(): Promise<unknown> }): AsyncIterableIterator<T> {
  return {
    next: () => generator.next(),
    async return() {
      await source.return();
      return generator.return(undefined);
    },
    async throw(error: unknown) {
      await source.return();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]: returnThis,
  };
}

const DONE: IteratorResult<never> = { done: true, value: undefined };

/**
 * A stream pulled with promise chains instead of an async generator: an idle
 * subscription then holds one pending promise here, not a suspended frame and
 * its requests, and each event takes fewer promise hops. `pull` is called for
 * one `next()` at a time (every consumer here iterates with for await); an
 * error of `pull` closes the source and ends the stream with that error.
 */
export function leanStream<T>(pull: () => Promise<IteratorResult<T>>, close: () => Promise<unknown>): AsyncIterableIterator<T> {
  return new LeanStream(pull, close);
}

/** A class, not an object of closures: methods on the prototype cost nothing per subscription. */
class LeanStream<T> implements AsyncIterableIterator<T> {
  private finished = false;

  constructor(
    private readonly pull: () => Promise<IteratorResult<T>>,
    private readonly close: () => Promise<unknown>,
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.resolve(DONE);
    return this.pull().then(
      (step) => {
        if (step.done) this.finished = true;
        return step;
      },
      (error: unknown) => {
        this.finished = true;
        const rethrow = () => Promise.reject(error);
        return this.close().then(rethrow, rethrow);
      },
    );
  }

  async return(): Promise<IteratorResult<T>> {
    this.finished = true;
    await this.close();
    return DONE;
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    this.finished = true;
    await this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface ReplayThenLiveOptions<Event extends { id: string }, Item> {
  /** Already subscribed, so nothing committed during the replay is missed. */
  live: EventStream<Event>;
  /** Items after `since` in ascending order, `limit` at a time; not called without `since`. */
  replay: ((afterId: string, limit: number) => Promise<Item[]>) | null;
  since: string | null;
  itemId: (item: Item) => string;
  /** The item id an event announces. */
  eventItemId: (event: Event) => string;
  /** Reads the item an event announces; null drops the event. */
  load: (event: Event) => Promise<Item | null>;
  isAfter: (id: string, previous: string) => boolean;
  /**
   * Sees each live event first; false drops it as announcing no item (e.g. a
   * change on the same stream that may revoke access), and throwing ends the
   * stream with that error. @default every event announces an item
   */
  guard?: (event: Event) => boolean;
}

const REPLAY_BATCH = 500;

/** Replays what came after `since`, then follows live events: no gap, no duplicate, ascending ids. */
export function replayThenLive<Event extends { id: string }, Item>(options: ReplayThenLiveOptions<Event, Item>): AsyncIterableIterator<Item> {
  const { live, replay, itemId, eventItemId, load, isAfter, guard } = options;
  let last = options.since;
  let replaying = replay !== null && last !== null;
  let replayed: Item[] = [];

  const pull = (): Promise<IteratorResult<Item>> => {
    const item = replayed.shift();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    if (replaying) {
      return replay!(last!, REPLAY_BATCH).then((batch) => {
        // Live events are read only after the replay, so the last replayed id can be taken at once.
        if (batch.length > 0) last = itemId(batch[batch.length - 1]!);
        if (batch.length < REPLAY_BATCH) replaying = false;
        replayed = batch;
        return pull();
      });
    }
    return live.next().then(fromLive);
  };
  const fromLive = (step: IteratorResult<Event>): IteratorResult<Item> | Promise<IteratorResult<Item>> => {
    if (step.done) return DONE;
    const event = step.value;
    if (guard && !guard(event)) return live.next().then(fromLive);
    const id = eventItemId(event);
    if (last !== null && !isAfter(id, last)) return live.next().then(fromLive);
    return load(event).then((loaded) => {
      if (loaded === null) return live.next().then(fromLive);
      last = id;
      return { done: false, value: loaded };
    });
  };
  return leanStream(pull, () => live.return());
}

/**
 * For state-like streams: the current value first, then a fresh value after
 * events, skipping repeats. Events that piled up while a value was computed
 * are folded into one recomputation.
 */
export function currentThenChanges<Event extends { id: string }, Value>(live: EventStream<Event>, read: () => Promise<Value>): AsyncIterableIterator<Value> {
  let started = false;
  let last: Value;
  const fromLive = (step: IteratorResult<Event>): IteratorResult<Value> | Promise<IteratorResult<Value>> => {
    if (step.done) return DONE;
    live.drain();
    return read().then((value) => {
      if (value === last) return live.next().then(fromLive);
      last = value;
      return { done: false, value };
    });
  };
  const pull = (): Promise<IteratorResult<Value>> => {
    if (started) return live.next().then(fromLive);
    started = true;
    return read().then((value) => {
      last = value;
      return { done: false, value };
    });
  };
  return leanStream(pull, () => live.return());
}

export interface LatestPerKeyOptions<Event> {
  /** Events that a later event of the same key must not replace (e.g. status changes, which every subscriber sees). @default none */
  keep?: (event: Event) => boolean;
  /** Events pending at once before the stream fails as too slow. @default 10000 */
  maxPending?: number;
}

/**
 * For latest-state streams over many keys (order tracking): reads `live` as
 * events arrive, and a pending event is replaced by a later one of the same
 * key unless `keep` says otherwise. A consumer that falls behind thus gets
 * the latest state of each key instead of a backlog, and never overflows the
 * live buffer. Each `next()` hands over everything pending, in arrival order.
 */
export function latestPerKey<Event extends { id: string }>(
  live: EventStream<Event>,
  keyOf: (event: Event) => string,
  options: LatestPerKeyOptions<Event> = {},
): AsyncIterableIterator<Event[]> & { return(): Promise<IteratorResult<Event[]>> } {
  const keep = options.keep ?? (() => false);
  const maxPending = options.maxPending ?? 10_000;
  // Arrival order (a Map iterates in insertion order), and per key the one pending event a later one replaces.
  const pending = new Map<number, Event>();
  const replaceable = new Map<string, number>();
  let arrivals = 0;
  let failure: Error | null = null;
  let finished = false;
  let wake: (() => void) | null = null;
  const signal = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };

  void (async () => {
    try {
      for await (const event of live) {
        const key = keyOf(event);
        const replaced = replaceable.get(key);
        if (replaced !== undefined) pending.delete(replaced);
        arrivals += 1;
        pending.set(arrivals, event);
        if (keep(event)) replaceable.delete(key);
        else replaceable.set(key, arrivals);
        if (pending.size > maxPending) throw new Error('Subscriber is too slow; events were dropped');
        signal();
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      pending.clear();
      replaceable.clear();
    } finally {
      finished = true;
      signal();
    }
  })();

  return {
    async next(): Promise<IteratorResult<Event[]>> {
      for (;;) {
        if (pending.size > 0) {
          const batch = [...pending.values()];
          pending.clear();
          replaceable.clear();
          return { value: batch, done: false };
        }
        if (failure) {
          const error = failure;
          failure = null;
          throw error;
        }
        if (finished) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      await live.return();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      await live.return();
      throw error;
    },
    [Symbol.asyncIterator]: returnThis,
  };
}

/**
 * One value per event object however many subscribers ask for it. A process
 * hands the same event object to all its subscribers of a channel, so their
 * payloads are then the same object too, and shared execution runs once.
 */
export function perEvent<Event extends object, Value>(build: (event: Event) => Value): (event: Event) => Value {
  const values = new WeakMap<Event, Value>();
  return (event) => {
    if (values.has(event)) return values.get(event)!;
    const value = build(event);
    values.set(event, value);
    return value;
  };
}

/**
 * A resume point older than the replay window is refused, so a client that
 * was away for days refetches a page instead of replaying everything.
 * An unknown resume point (never existed, or not the caller's) replays from there.
 */
export function assertResumable(sinceCreatedAt: Date | null, field: string, windowHours: number): void {
  if (sinceCreatedAt && Date.now() - sinceCreatedAt.getTime() > windowHours * 3_600_000) throw resumeExpired(field, windowHours);
}
