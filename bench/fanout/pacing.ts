/** How the sender paces its actions (open loop, closed loop, batches) and what it records of them in the current phase. */
import { failureKind } from '../lib/mutations.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the sender saw during one measured phase (they run one at a time): its failures, and how it kept its schedule. */
export interface Phase {
  /** Failed actions (e.g. a refused mutation) by failureKind. */
  failures: Map<string, number>;
  /** Open loop: how late (ms) each action went out after its due time, of those that did not wait for their key. */
  lateness: number[];
  /** Actions that waited for the previous action of their key (an order's previous update): how long (ms) past their due time, or in the closed loop past their turn. */
  heldBack: number[];
  /** How long (ms) each action took from being sent to its answer (a mutation's HTTP or graphql-ws round trip, waits for a connection included). */
  answered: number[];
}
const newPhase = (): Phase => ({ failures: new Map(), lateness: [], heldBack: [], answered: [] });
let phase = newPhase();

/** Starts a measured phase: what the actions from here on record goes into the phase returned. */
export function startPhase(): Phase {
  phase = newPhase();
  return phase;
}

export type Action = (index: number) => Promise<unknown> | void;
/** Actions of the same key (e.g. the updates of one order) go one after another, each after the previous one has finished. */
export type KeyOf = (index: number) => number;

/** Runs one action; a failure is counted, not thrown. */
function attempt(act: Action, index: number): Promise<unknown> {
  const { answered, failures } = phase;
  const sent = performance.now();
  return Promise.resolve()
    .then(() => act(index))
    .then(
      () => void answered.push(performance.now() - sent),
      (error: unknown) => {
        answered.push(performance.now() - sent);
        const kind = failureKind(error);
        failures.set(kind, (failures.get(kind) ?? 0) + 1);
      },
    );
}

/**
 * Runs action `index` now, or, when the previous action of its key has not finished, once it has;
 * `onSend` learns when it went out and whether it waited. Never rejects.
 */
function inTurn(tails: Map<number, Promise<unknown>>, keyOf: KeyOf | undefined, act: Action, index: number, onSend: (waited: boolean) => void): Promise<unknown> {
  const key = keyOf?.(index);
  const previous = key === undefined ? undefined : tails.get(key);
  const done = previous
    ? previous.then(() => {
        onSend(true);
        return attempt(act, index);
      })
    : (onSend(false), attempt(act, index));
  if (key !== undefined) {
    tails.set(key, done);
    void done.then(() => {
      if (tails.get(key) === done) tails.delete(key);
    });
  }
  return done;
}

/**
 * Runs `count` actions at `perSecond` (all in flight as due), or one after another when perSecond is 0.
 * With keyOf, an action due while the previous one of its key is in flight waits for it: the rate is then an upper bound.
 */
export async function paced(count: number, perSecond: number, act: Action, keyOf?: KeyOf): Promise<void> {
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  const tails = new Map<number, Promise<unknown>>();
  for (let i = 0; i < count; i += 1) {
    if (perSecond <= 0) {
      await attempt(act, i);
      continue;
    }
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(inTurn(tails, keyOf, act, i, (waited) => (waited ? phase.heldBack : phase.lateness).push(Math.max(0, performance.now() - due))));
  }
  await Promise.all(inFlight);
}

/**
 * Runs `count` actions as fast as they finish, `inFlight` at a time: each finished one starts the next.
 * With keyOf, a worker whose next action's key has one in flight waits for it, so no two of one key are ever in flight.
 */
export async function closedLoop(count: number, inFlight: number, act: Action, keyOf?: KeyOf): Promise<void> {
  let next = 0;
  const tails = new Map<number, Promise<unknown>>();
  const worker = async () => {
    while (next < count) {
      const turn = performance.now();
      await inTurn(tails, keyOf, act, next++, (waited) => {
        if (waited) phase.heldBack.push(performance.now() - turn);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/** Runs `act` for 0..count-1, `concurrency` at a time. */
export async function inBatches<T>(count: number, concurrency: number, act: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += concurrency) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - start) }, (_, i) => act(start + i)))));
  }
  return results;
}
