/**
 * Calls `onEnd` exactly once however the stream ends: completion, an error, or
 * the consumer leaving (`return()`), even if iteration never started.
 */
export function withEnd<T>(source: AsyncIterable<T>, onEnd: () => void): AsyncIterableIterator<T> {
  return new EndWatchingIterator(source[Symbol.asyncIterator](), onEnd);
}

/**
 * A class, not an object of closures: every idle subscription holds one, and
 * methods on the prototype cost nothing per instance. Promise chains, not
 * async functions: an idle stream holds no suspended frame here.
 */
class EndWatchingIterator<T> implements AsyncIterableIterator<T> {
  private ended = false;

  constructor(
    private readonly iterator: AsyncIterator<T>,
    private readonly onEnd: () => void,
  ) {}

  next(): Promise<IteratorResult<T>> {
    return this.iterator.next().then(
      (result) => {
        if (result.done) this.end();
        return result;
      },
      (error: unknown) => {
        this.end();
        throw error;
      },
    );
  }

  async return(): Promise<IteratorResult<T>> {
    this.end();
    return (await this.iterator.return?.()) ?? { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    this.end();
    if (this.iterator.throw) return this.iterator.throw(error);
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }
}

/**
 * `[Symbol.asyncIterator]` for iterator objects, one function for all: a
 * method written in an object literal is a new closure per object, and V8
 * builds its computed name ("[Symbol.asyncIterator]") as new strings each
 * time; an idle subscription holds several such iterators.
 */
export function returnThis<T>(this: T): T {
  return this;
}

export function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
