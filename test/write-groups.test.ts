import { describe, expect, it } from 'vitest';
import { createWriteGroup } from '../src/db/write-groups.js';

// The grouping alone, with a writer that records its calls; the SQL of each group is tested through the server
// (preferences.test.ts: concurrent one-recipient sendNotifications on both backends).
describe('write groups', () => {
  function recorder(failWhen: (items: number[]) => boolean, retryAlone?: (error: unknown) => boolean) {
    const calls: number[][] = [];
    const write = createWriteGroup<number, number>({
      ...(retryAlone ? { retryAlone } : {}),
      writeMany: async (items) => {
        calls.push(items);
        if (failWhen(items)) throw new Error('group failed');
        return items.map((item) => item * 10);
      },
      writeOne: async (item) => {
        calls.push([item]);
        if (item < 0) throw new Error(`bad ${item}`);
        return item * 10;
      },
      maxGroup: 4,
    });
    return { calls, write };
  }

  it('writes what one turn of the event loop asked for as one group, at most maxGroup per statement', async () => {
    const { calls, write } = recorder(() => false);
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(write));
    expect(answers).toEqual([10, 20, 30, 40, 50, 60]);
    expect(calls).toEqual([[1, 2, 3, 4], [5, 6]]);
    expect(await write(7)).toBe(70);
    expect(calls.at(-1)).toEqual([7]);
  });

  it('runs each write of a failed group alone: only the bad one fails', async () => {
    const { calls, write } = recorder((items) => items.some((item) => item < 0));
    const settled = await Promise.allSettled([1, -2, 3].map(write));
    expect(settled.map((result) => (result.status === 'fulfilled' ? result.value : String(result.reason)))).toEqual([10, 'Error: bad -2', 30]);
    expect(calls).toEqual([[1, -2, 3], [1], [-2], [3]]);
  });

  it('gives every write of the group the error when it is not worth retrying alone (the database is unreachable)', async () => {
    const { calls, write } = recorder(() => true, (error) => !String(error).includes('group failed'));
    const settled = await Promise.allSettled([1, 2].map(write));
    expect(settled.map((result) => (result.status === 'rejected' ? String(result.reason) : result.value))).toEqual(['Error: group failed', 'Error: group failed']);
    expect(calls).toEqual([[1, 2]]);
  });
});
