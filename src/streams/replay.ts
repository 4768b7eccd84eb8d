/**
 * Streams that first send what the subscriber does not have yet (what came
 * after its resume point, or the current value), then follow live events
 * with no gap between the two.
 */
import { resumeExpired } from '../errors.js';
import type { EventStream } from '../pubsub/event-stream.js';
import { DONE, leanStream } from './lean.js';

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

/**
 * A resume point older than the replay window is refused, so a client that
 * was away for days refetches a page instead of replaying everything.
 * An unknown resume point (never existed, or not the caller's) replays from there.
 */
export function assertResumable(sinceCreatedAt: Date | null, field: string, windowHours: number): void {
  if (sinceCreatedAt && Date.now() - sinceCreatedAt.getTime() > windowHours * 3_600_000) throw resumeExpired(field, windowHours);
}
