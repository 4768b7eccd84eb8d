import { createRequire } from 'node:module';
import * as esm from '@whatwg-node/promise-helpers';
import { describe, expect, it } from 'vitest';

// patches/@whatwg-node+promise-helpers+1.3.2.patch: Yoga, envelop and whatwg-node run every hook of
// every request through handleMaybePromise and iterateAsync; the patch gives 1.3.2 the synchronous
// path of 2.0, and an iterateAsync that loops while hooks answer synchronously (beyond upstream).
const cjs = createRequire(import.meta.url)('@whatwg-node/promise-helpers') as typeof esm;

describe.each([
  ['ESM', esm],
  ['CommonJS', cjs],
])('@whatwg-node/promise-helpers as patched (%s)', (_name, helpers) => {
  it('is the patched build: a resolved fake promise keeps its methods on a shared prototype', () => {
    const one = helpers.fakePromise(1);
    expect(Object.hasOwn(one, 'then')).toBe(false);
    expect(Object.getPrototypeOf(one)).toBe(Object.getPrototypeOf(helpers.fakePromise(2)));
  });

  it('answers synchronous factories synchronously, and their errors as before', () => {
    expect(helpers.handleMaybePromise(() => 1, (value) => value + 1)).toBe(2);
    expect(helpers.handleMaybePromise(() => { throw new Error('input'); }, () => 'success', (error) => (error as Error).message)).toBe('input');
    expect(() => helpers.handleMaybePromise(() => { throw new Error('input'); }, () => 'success')).toThrow('input');
    // An error of the success callback is not handed to the error callback (as with Promise#then).
    expect(() => helpers.handleMaybePromise(() => 1, () => { throw new Error('success'); }, () => 'handled')).toThrow('success');
  });

  it('keeps promises promises, rejections included', async () => {
    const answer = helpers.handleMaybePromise(() => Promise.resolve(1), (value) => value + 1);
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).resolves.toBe(2);
    await expect(helpers.handleMaybePromise(() => Promise.reject(new Error('no')), () => 'success', (error) => (error as Error).message)).resolves.toBe('no');
  });

  it('runs the finally callback once, after a synchronous or an asynchronous answer', async () => {
    let finallies = 0;
    expect(helpers.handleMaybePromise(() => 1, (value) => value, undefined, () => { finallies += 1; })).toBe(1);
    await helpers.handleMaybePromise(() => Promise.resolve(1), (value) => value, undefined, () => { finallies += 1; });
    expect(finallies).toBe(2);
  });

  it('iterates hooks in order and stops early when asked', () => {
    const seen: number[] = [];
    helpers.iterateAsync([1, 2, 3], (value, endEarly) => {
      seen.push(value);
      if (value === 2) endEarly();
    });
    expect(seen).toEqual([1, 2]);
  });

  it('collects results and answers synchronously while every callback does, without deep recursion', () => {
    const results: number[] = [];
    const hooks = Array.from({ length: 20_000 }, (_, index) => index);
    expect(helpers.iterateAsync(hooks, (value, _endEarly, index) => (value === index && value % 2 === 0 ? value + 1 : null), results)).toBeUndefined();
    expect(results).toHaveLength(10_000);
    expect(results.slice(0, 3)).toEqual([1, 3, 5]);
  });

  it('iterates any iterable, not only arrays', () => {
    const seen: string[] = [];
    helpers.iterateAsync(new Set(['a', 'b']), (value) => {
      seen.push(value);
    });
    expect(seen).toEqual(['a', 'b']);
  });

  it('waits for a callback that answers with a promise, then goes on in order', async () => {
    const seen: string[] = [];
    const results: string[] = [];
    const done = helpers.iterateAsync(
      ['sync', 'async', 'after'],
      async (value) => {
        seen.push(value);
        if (value === 'async') await new Promise((resolve) => setTimeout(resolve, 5));
        return value.toUpperCase();
      },
      results,
    );
    expect(done).toBeInstanceOf(Promise);
    expect(seen).toEqual(['sync']);
    await done;
    expect(seen).toEqual(['sync', 'async', 'after']);
    expect(results).toEqual(['SYNC', 'ASYNC', 'AFTER']);
  });

  it('stops early when a pending callback asks before it settles', async () => {
    const seen: number[] = [];
    await helpers.iterateAsync([1, 2, 3], async (value, endEarly) => {
      seen.push(value);
      await Promise.resolve();
      if (value === 2) endEarly();
    });
    expect(seen).toEqual([1, 2]);
  });

  it('throws a synchronous error at once and rejects after a promise', async () => {
    expect(() => helpers.iterateAsync([1, 2], (value) => {
      if (value === 1) throw new Error('sync hook');
    })).toThrow('sync hook');
    await expect(helpers.iterateAsync([1, 2], async (value) => {
      if (value === 2) throw new Error('async hook');
    })).rejects.toThrow('async hook');
  });

  it('answers synchronously when a callback answers with a resolved fake promise', () => {
    const results: number[] = [];
    expect(helpers.iterateAsync([1, 2], (value) => helpers.fakePromise(value * 10) as unknown as number, results)).toBeUndefined();
    expect(results).toEqual([10, 20]);
  });

  it('still exports mapMaybePromise, which 1.3.2 callers import', () => {
    expect(helpers.mapMaybePromise(1, (value: number) => value * 3)).toBe(3);
  });
});
