import type { ExecutionResult } from 'graphql';
import { returnThis } from '../basics/async-iteration.js';

/**
 * What one client of a live query reads: the newest result not yet taken. A
 * client slower than the changes skips the results it would have read late
 * (a live query's result is whole: only the latest matters), so nothing
 * piles up for it.
 */
export interface LatestResultStream extends AsyncIterableIterator<ExecutionResult> {
  push(result: ExecutionResult): void;
  /** Ends after the result pending now, if any, has been read. */
  finish(): void;
  fail(error: unknown): void;
  readonly ended: boolean;
  return(): Promise<IteratorResult<ExecutionResult>>;
}

const DONE: IteratorResult<never> = { done: true, value: undefined };

export function latestResultStream(onLeave: () => void): LatestResultStream {
  let pending: ExecutionResult | null = null;
  let failure: unknown = null;
  let finishing = false;
  let ended = false;
  let waiting: ((step: IteratorResult<ExecutionResult>) => void) | null = null;
  let rejectWaiting: ((error: unknown) => void) | null = null;

  const leave = () => {
    if (ended) return;
    ended = true;
    onLeave();
  };
  const settle = () => {
    if (!waiting) return;
    const resolve = waiting;
    const reject = rejectWaiting!;
    waiting = null;
    rejectWaiting = null;
    if (pending) {
      const value = pending;
      pending = null;
      resolve({ done: false, value });
    } else if (failure !== null) {
      leave();
      reject(failure);
    } else if (finishing) {
      leave();
      resolve(DONE);
    }
  };

  return {
    get ended() {
      return ended || finishing;
    },
    push(result) {
      if (ended || finishing) return;
      pending = result;
      settle();
    },
    finish() {
      finishing = true;
      settle();
    },
    fail(error) {
      failure = error ?? new Error('live query failed');
      settle();
    },
    next() {
      if (ended) return Promise.resolve(DONE);
      if (pending) {
        const value = pending;
        pending = null;
        return Promise.resolve({ done: false, value });
      }
      if (failure !== null) {
        leave();
        return Promise.reject(failure);
      }
      if (finishing) {
        leave();
        return Promise.resolve(DONE);
      }
      return new Promise((resolve, reject) => {
        waiting = resolve;
        rejectWaiting = reject;
      });
    },
    async return() {
      leave();
      waiting?.(DONE);
      waiting = null;
      return DONE;
    },
    async throw(error: unknown) {
      leave();
      throw error;
    },
    [Symbol.asyncIterator]: returnThis,
  };
}
