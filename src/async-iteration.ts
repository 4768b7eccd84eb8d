/**
 * Calls `onEnd` exactly once however the stream ends: completion, an error, or
 * the consumer leaving (`return()`), even if iteration never started; and
 * `onValue`, if given, with each value on its way.
 */
export function withEnd<T>(source: AsyncIterable<T>, onEnd: () => void, onValue?: (value: T) => void): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  return {
    // A promise chain, not an async function: an idle stream holds no suspended frame here.
    next: () =>
      iterator.next().then(
        (result) => {
          if (result.done) end();
          else onValue?.(result.value);
          return result;
        },
        (error: unknown) => {
          end();
          throw error;
        },
      ),
    async return() {
      end();
      return (await iterator.return?.()) ?? { done: true, value: undefined };
    },
    async throw(error: unknown) {
      end();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]: returnThis,
  };
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
