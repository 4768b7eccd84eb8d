/**
 * Group commit for one kind of write: the writes asked for in one turn of the
 * event loop go to the database as one statement, so N concurrent mutations
 * cost one round trip, one transaction and one WAL flush instead of N.
 *
 * Each write still gets its own answer. If the grouped statement fails, each
 * write of the group runs again alone, so one bad write fails only itself
 * and the others do not see its error; unless the failure is not the
 * statement's (`retryAlone` says no: the database is unreachable, or no
 * connection was free), then every write of the group gets that error, so an
 * overloaded pool is not asked for N more connections.
 */
export type WriteGroup<I, R> = (item: I) => Promise<R>;

export interface WriteGroupOptions<I, R> {
  /** One statement for every write of a group; the answers in the order of `items`. */
  writeMany(items: I[]): Promise<R[]>;
  /** One write alone: a group of one, and each write again after a failed group. */
  writeOne(item: I): Promise<R>;
  /** Whether a failed group's writes are worth running again one by one. @default always */
  retryAlone?: (error: unknown) => boolean;
  /** At most this many writes per statement; the rest wait for the next. @default 500 */
  maxGroup?: number;
}

interface Pending<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
}

export function createWriteGroup<I, R>({ writeMany, writeOne, retryAlone = () => true, maxGroup = 500 }: WriteGroupOptions<I, R>): WriteGroup<I, R> {
  let waiting: Pending<I, R>[] = [];

  async function flush(group: Pending<I, R>[]): Promise<void> {
    if (group.length === 1) return settle(group[0]!, () => writeOne(group[0]!.item));
    let answers: R[];
    try {
      answers = await writeMany(group.map((pending) => pending.item));
    } catch (error) {
      if (retryAlone(error)) await Promise.all(group.map((pending) => settle(pending, () => writeOne(pending.item))));
      else for (const pending of group) pending.reject(error);
      return;
    }
    group.forEach((pending, index) => pending.resolve(answers[index]!));
  }

  function flushWaiting(): void {
    while (waiting.length > 0) {
      const group = waiting.slice(0, maxGroup);
      waiting = waiting.slice(maxGroup);
      void flush(group);
    }
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      // setImmediate, not a microtask: the group spans every request this turn of the event loop has parsed.
      if (waiting.length === 0) setImmediate(flushWaiting);
      waiting.push({ item, resolve, reject });
    });
}

async function settle<I, R>(pending: Pending<I, R>, write: () => Promise<R>): Promise<void> {
  try {
    pending.resolve(await write());
  } catch (error) {
    pending.reject(error);
  }
}
