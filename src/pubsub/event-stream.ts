import { slowConsumer } from '../errors.js';

/**
 * The iterator one subscription reads. It exists only after its channels are
 * subscribed, and `return()` unsubscribes whether or not iteration started,
 * so a subscriber that leaves early leaks nothing.
 */
export class EventStream<T extends { id: string }> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;
  private finished = false;
  private lastId: string | null = null;
  private unsubscribe: () => Promise<void> = async () => {};

  constructor(
    /** Events beyond this many unread ones end the stream with an error. */
    private readonly limit: number,
    private readonly isAfter: (id: string, previous: string) => boolean,
  ) {}

  attach(unsubscribe: () => Promise<void>): void {
    this.unsubscribe = unsubscribe;
  }

  get closed(): boolean {
    return this.finished;
  }

  /** Events repeated by a relay fail-over arrive again with an id already seen: they are dropped here. */
  push(event: T): void {
    if (this.finished) return;
    if (this.lastId !== null && !this.isAfter(event.id, this.lastId)) return;
    this.lastId = event.id;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length > this.limit) this.fail(slowConsumer());
  }

  /** Takes every buffered event at once: for state-like streams that only need the latest. */
  drain(): T[] {
    return this.buffer.splice(0);
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.buffer.length = 0;
    void this.end();
  }

  next(): Promise<IteratorResult<T>> {
    const event = this.buffer.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.end();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    await this.end();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async end(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting && this.failure) {
      waiting.reject(this.failure);
      this.failure = null;
    } else {
      waiting?.resolve({ value: undefined, done: true });
    }
    await this.unsubscribe();
  }
}
