/**
 * The hand-written async iterators that subscriptions read, in one place; the
 * streams of replay.ts, orders.ts and typing.ts are built from them.
 *
 * Why not async generators: a subscription holds its stream for as long as it
 * stays open, mostly idle, and an idle stream built on `leanStream` holds one
 * pending promise, not a suspended generator frame and what it captured; each
 * event also takes fewer promise hops. Where every subscription holds one,
 * they are classes: methods on the prototype cost nothing per instance. A
 * stream whose logic reads better as a generator stays one, wrapped by
 * `closingWith` so that leaving still closes its source.
 */
import { returnThis } from '../basics/async-iteration.js';
import type { EventStream } from '../pubsub/event-stream.js';

export const DONE: IteratorResult<never> = { done: true, value: undefined };

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

/**
 * A stream pulled with promise chains. `pull` is called for one `next()` at a
 * time (every consumer here iterates with for await); an error of `pull`
 * closes the source and ends the stream with that error.
 */
export function leanStream<T>(pull: () => Promise<IteratorResult<T>>, close: () => Promise<unknown>): AsyncIterableIterator<T> {
  return new LeanStream(pull, close);
}

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
 * Not lean: its reader must run ahead of the consumer, so an idle one also
 * holds that reader's suspended frame.
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
