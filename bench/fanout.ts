/**
 * Fan-out benchmark: the server (own process) against a load process holding
 * N graphql-ws connections, and in the same run the same workload on a raw
 * `ws` server sending pre-serialized frames: the limit to compare with.
 *
 *   npm run bench:fanout                              PostgreSQL + Redis, defaults (< 1 min)
 *   npm run bench:fanout -- --embedded --n 5000 --events 10 --scenario broadcast
 *   npm run bench:fanout -- --tsx --scenario per-user,chat,orders --in-flight 32 --mutations-over ws
 *
 * Scenarios: broadcast (one sendNotification to every user: N different
 * notifications), board (one event to N admins watching activityAdded: the
 * same data for all, where shared execution applies), per-user
 * (notifications round-robin to N users at --rate for --duration s, one
 * sendNotification to one user per event: the write path is measured too),
 * per-user-batched (the same events, but above 100/s one sendNotification
 * names several users, 100 mutations/s: delivery only; not in 'all'), orders
 * (N customers each watching their order while partners post status and
 * location updates at --rate, round-robin over the orders; the updates of one
 * order go one after another: an update due while its order's previous one
 * is unanswered waits for it and is sent once that has answered, so that a
 * status step never overtakes the one before; when the server falls behind,
 * --rate is then an upper bound of the offered rate, and the second table
 * counts the updates held back; their latency counts from their commit, the
 * orderUpdated's updatedAt, not from when they were due), chat (N customers
 * each in a direct conversation with one of ⌈N/10⌉ agents, at most 100, and
 * watching its messageAdded; the agents send one sendMessage per event,
 * round-robin over the N conversations at --rate for --duration s, the body
 * stamped `t:<epoch ms>`), idle (N connections × --subs subscriptions).
 * The server runs with SEND_MESSAGE_LIMIT=1000000: sendMessage's per-user
 * limit (30 per 10 s by default) would refuse the agents' messages.
 * The unicast scenarios (per-user, per-user-batched, orders, chat) have a raw
 * counterpart sending one frame to one socket per event at --rate; their rows
 * show the server's CPU per event (ms).
 * --in-flight K (0, the default: off): per-user, orders and chat run a second
 * time, in addition, for the same number of events as fast as the server
 * answers, K mutations in flight (a closed loop: each answered mutation starts
 * the next): rows `<scenario> max (K in flight)`, the raw counterpart sending
 * back to back. Orders' updates stay one at a time per order here too: a
 * worker whose next update's order still has one in flight waits for it.
 * The latency of per-user and chat counts from the `t:<epoch ms>` stamped
 * when the mutation is actually sent. A second table shows, per row, the CPU
 * of this process (the sender), of the load process (the receiver), of the
 * server and of the rest of the machine; how far behind its schedule the open
 * loop sent (at 1000/s a sender short of CPU would cap the rate itself); the
 * mutations' round trips; orders' updates held back; the HTTP connections
 * opened and the machine's TCP listen overflows and SYN retransmits.
 * --mutations-over ws (default http): the mutations of the measured phases
 * and their warm-up probes go over graphql-ws connections of this process,
 * at least 4 in all, spread over the sending users (each opens its own): the
 * admin (sendNotification is admin-only) gets 4, orders' ⌈N/100⌉ partners and
 * chat's agents one or more each; rows read `(mutations over graphql-ws)`.
 * Setup (orders, assignments, conversations) stays on HTTP.
 * Over HTTP the measured mutations go through node:http with a keep-alive
 * Agent and pre-printed documents (bench/lib/mutations.ts): the same POST
 * /graphql as httpData's fetch at about a third of its CPU; --http-sender
 * fetch sends them with httpData. --http-sockets K (default 64; 0: no limit)
 * caps the connections, as wrk2 drives a fixed rate over fixed connections:
 * a mutation due while all K are busy waits in this process, and the latency
 * of per-user and chat (from the `t:` stamp) counts the wait. Without a cap,
 * fetch's way, an open loop the server falls behind opens a connection per
 * mutation in flight, thousands, which overflow the server's accept queue
 * (Node's backlog, 511): the kernel drops and resets connections (ECONNRESET,
 * "fetch failed"), and SYN retries (1 s, 3 s, 7 s) make the latency, not the
 * server.
 * Failed mutations are counted per row and grouped by error after the table.
 * --event-rate paces broadcast and board events (0: back to back);
 * --shared false runs the server with SHARED_EXECUTION=false.
 * Results: bench/results/fanout-*.json and a markdown table on stdout.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  AssignOrderDocument,
  CreateOrderDocument,
  MeDocument,
  OpenDirectConversationDocument,
  SendMessageDocument,
  SendNotificationDocument,
  UpdateOrderLocationDocument,
  UpdateOrderStatusDocument,
} from '../test/generated/graphql.js';
import { httpData } from '../test/support/clients.js';
import { backendEnv, startServerProcess, token, type ServerProcess } from '../test/support/server.js';
import { heapUsedAfterGc, inspectorUrlIn, startCpuProfile, writeHeapSnapshot } from './lib/inspector.js';
import { failureKind, fetchMutations, httpMutations, wsMutations, type Mutations } from './lib/mutations.js';
import { machineBusySeconds, percentiles, processUsage, tcpCounters } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    events: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '3' },
    scenario: { type: 'string', default: 'all' },
    embedded: { type: 'boolean', default: false },
    /** Subscriptions per connection in the idle scenario (0–3). */
    subs: { type: 'string', default: '3' },
    /** Broadcast and board events per second; 0 sends them back to back. */
    'event-rate': { type: 'string', default: '0' },
    /** Unicast scenarios also run as fast as the server answers with this many mutations in flight; 0: not. */
    'in-flight': { type: 'string', default: '0' },
    /** http, or ws: the measured mutations go over graphql-ws connections of this process. */
    'mutations-over': { type: 'string', default: 'http' },
    /** node:http (keep-alive Agent, pre-printed documents), or fetch: test/support/clients.ts's httpData, one fetch per mutation. */
    'http-sender': { type: 'string', default: 'node:http' },
    /** node:http: at most this many connections (0: as many as mutations in flight, as fetch opens them); the rest wait in this process. */
    'http-sockets': { type: 'string', default: '64' },
    /** Runs the server's TypeScript through tsx instead of the build in dist/. */
    tsx: { type: 'boolean', default: false },
    /** false: the server executes each event once per subscriber (SHARED_EXECUTION=false). */
    shared: { type: 'string', default: 'true' },
    /** The idle scenario writes a heap snapshot of the server, holding its connections, to this file. */
    'heap-snapshot': { type: 'string' },
    /** Writes a V8 CPU profile of the server's measured phase of each scenario to this directory. */
    profile: { type: 'string' },
  },
});
const N = Number(values.n);
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const DURATION_S = Number(values.duration);
const EVENT_RATE = Number(values['event-rate']);
const IN_FLIGHT = Number(values['in-flight']);
const SHARED = values.shared !== 'false';
const scenarios = values.scenario === 'all' ? ['broadcast', 'board', 'per-user', 'orders', 'chat', 'idle'] : values.scenario!.split(',');
if (!['http', 'ws'].includes(values['mutations-over']!)) throw new Error(`--mutations-over is http or ws, not ${values['mutations-over']}`);
if (!Number.isInteger(IN_FLIGHT) || IN_FLIGHT < 0) throw new Error(`--in-flight is a whole number, not ${values['in-flight']}`);
if (!['node:http', 'fetch'].includes(values['http-sender']!)) throw new Error(`--http-sender is node:http or fetch, not ${values['http-sender']}`);
const HTTP_SOCKETS = Number(values['http-sockets']);
if (!Number.isInteger(HTTP_SOCKETS) || HTTP_SOCKETS < 0) throw new Error(`--http-sockets is a whole number, not ${values['http-sockets']}`);
const OVER_WS = values['mutations-over'] === 'ws';
/** Added to the label of every graphql row whose mutations went over graphql-ws. */
const MUTATIONS_LABEL = OVER_WS ? '(mutations over graphql-ws)' : '';
/** graphql-ws connections of this process that carry the mutations, at least, with --mutations-over ws. */
const WS_MUTATION_SOCKETS = 4;
/** per-user-batched's write rate: faster event rates name several users per sendNotification. */
const MUTATIONS_PER_SECOND = 100;
/** Scenarios whose raw counterpart sends one frame to one socket at --rate. */
const UNICAST = ['per-user', 'per-user-batched', 'orders', 'chat'];
/** Unicast scenarios with one mutation per event: --in-flight runs them in a closed loop too. */
const CLOSED_LOOP = ['per-user', 'orders', 'chat'];
/** Distinct errors of failed mutations printed after the table, the most frequent first. */
const FAILURE_KINDS_SHOWN = 5;
/** Heap (after a full GC) the server keeps per idle connection, set by the idle scenario. */
let heapPerConnection: number | null = null;
const backend = values.embedded ? 'embedded' : 'postgres+redis';
/** Events of a unicast scenario's run. */
const TOTAL = RATE * DURATION_S;

const NOTIFICATION_ADDED = 'subscription { notificationAdded { id title body createdAt } }';
const UNREAD_COUNT = 'subscription { unreadCountChanged }';
const ORDER_UPDATED = 'subscription { orderUpdated { id status updatedAt } }';
const ACTIVITY_ADDED = 'subscription { activityAdded { id topic summary occurredAt } }';
const ORDER_TRACKING = 'subscription ($orderId: ID) { orderUpdated(orderId: $orderId) { id status updatedAt lastLocation { latitude longitude } } }';
/** With since (the conversation's first message), a message sent before the subscription went live is replayed, not lost. */
const MESSAGE_ADDED = 'subscription ($conversationId: ID!, $since: ID) { messageAdded(conversationId: $conversationId, since: $since) { id body createdAt sender { id displayName } } }';
/** The partner's steps after assignment; a location update follows the order's status otherwise. */
const STATUS_STEPS = ['CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY'] as const;

type Reply = { kind: string; failed?: number; received?: number; latencies?: number[]; port?: number };

function child(script: string): ChildProcess {
  return fork(new URL(script, import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function ask(process: ChildProcess, message: object, replyKind: string): Promise<Reply> {
  return new Promise((resolve) => {
    const onMessage = (reply: Reply) => {
      if (reply.kind !== replyKind) return;
      process.off('message', onMessage);
      resolve(reply);
    };
    process.on('message', onMessage);
    if (Object.keys(message).length) process.send(message);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the sender saw during one measured phase (they run one at a time): its failures, and how it kept its schedule. */
interface Phase {
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

type Action = (index: number) => Promise<unknown> | void;
/** Actions of the same key (e.g. the updates of one order) go one after another, each after the previous one has finished. */
type KeyOf = (index: number) => number;

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
async function paced(count: number, perSecond: number, act: Action, keyOf?: KeyOf): Promise<void> {
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
async function closedLoop(count: number, inFlight: number, act: Action, keyOf?: KeyOf): Promise<void> {
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
async function inBatches<T>(count: number, concurrency: number, act: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += concurrency) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - start) }, (_, i) => act(start + i)))));
  }
  return results;
}

interface Row {
  /** The key a graphql row and its raw counterpart share. */
  scenario: string;
  /** How this run differs, printed after the scenario: e.g. `(mutations over graphql-ws)`. */
  variant?: string;
  target: 'graphql' | 'raw ws';
  connections: number;
  deliveries: number;
  expected: number;
  deliveriesPerSecond: number;
  latency: ReturnType<typeof percentiles>;
  serverRssMb: number;
  serverCpuSeconds: number;
  bytesPerConnection: number;
  /** Commit → the server's PubSub delivered the event, p50 / p99 (histogram bucket bounds, ms); event-loop delay p99 (ms); GC time. */
  serverLag?: string;
  /** Failed mutations of the phase, and how many failed of each kind (failureKind). */
  failed: number;
  failures: Record<string, number>;
  /** This process (the sender) while it sent, from the first action to the last one's end: CPU seconds / wall seconds, % of one core. */
  senderCpuPercent: number;
  /** The load process (the receiver) and the server over the whole phase, % of one core. */
  receiverCpuPercent: number;
  serverCpuPercent: number;
  /** The rest of the machine over the phase (PostgreSQL, Redis, anything else running), % of one core. */
  restCpuPercent: number;
  /** Open loop: how late actions went out after their due time, ms (those not held back). */
  sendLateness: ReturnType<typeof percentiles> | null;
  /** Actions that waited for their key's previous one (orders), and how long, ms. */
  heldBack: number;
  heldBackMs: ReturnType<typeof percentiles> | null;
  /** Sent → answered, ms, of the phase's actions (Phase.answered). */
  answeredMs: ReturnType<typeof percentiles> | null;
  /** HTTP connections the sender opened during the phase (null: not over node:http), and how long they took to connect. */
  connectionsOpened: number | null;
  connectMs: ReturnType<typeof percentiles> | null;
  /** System-wide TCP counters over the phase (tcpCounters). */
  listenOverflows: number;
  synRetransmits: number;
}

/** What every scenario against our server works with. */
interface Bench {
  server: ServerProcess;
  pid: number;
  wsUrl: string;
  /** Of the N customers bench-u0.. */
  tokens: string[];
  admin: string;
  /** How the measured phases send their mutations (--mutations-over). */
  mutations: Mutations;
}

async function userTokens(count: number, role: 'customer' | 'admin' = 'customer'): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => token({ sub: role === 'admin' ? `bench-admin-${i}` : `bench-u${i}`, role }, '2h')));
}

/** Opens N connections from a fresh load process; returns it with the server's RSS growth per connection. */
async function connectLoad(url: string, mode: 'graphql' | 'raw', tokens: string[], subscriptions: string[], serverPid: number, variables?: Record<string, unknown>[]) {
  const load = child('./lib/load-client.ts');
  const before = processUsage(serverPid).rssBytes;
  const reply = await ask(load, { kind: 'connect', url, mode, tokens, subscriptions, variables }, 'connected');
  if (reply.failed) console.warn(`${reply.failed} of ${tokens.length} connections failed`);
  await sleep(500);
  const bytesPerConnection = Math.round((processUsage(serverPid).rssBytes - before) / tokens.length);
  return { load, bytesPerConnection };
}
/** Profiles only what is measured (not start-up or connecting), when --profile asks for it. */
async function profiled(server: { output(): string } | null, label: string): Promise<() => Promise<void>> {
  if (!values.profile || !server) return async () => {};
  mkdirSync(values.profile, { recursive: true });
  return startCpuProfile(inspectorUrlIn(server.output()), `${values.profile}/${label}-${backend}-${N}.cpuprofile`);
}

interface ServerScrape {
  /** realtime_event_lag_seconds (commit → its PubSub delivered the event to this process): cumulative counts by bound. */
  lag: Map<number, number>;
  /** Event-loop delay p99 since the previous scrape (prom-client resets it on each). */
  loopLagP99Ms: number;
  gcSeconds: number;
}

async function scrapeServer(graphqlUrl: string): Promise<ServerScrape> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const lag = new Map<number, number>();
  for (const match of text.matchAll(/^realtime_event_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) lag.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  const loopLag = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
  let gcSeconds = 0;
  for (const match of text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) gcSeconds += Number(match[1]);
  return { lag, loopLagP99Ms: Math.round(loopLag * 1000), gcSeconds };
}

/** The bucket bound (ms) under which `quantile` of the events between two scrapes fell: coarse, but it splits the latency into before and after the server's PubSub. */
function lagQuantile(before: Map<number, number>, after: Map<number, number>, quantile: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total === 0) return '';
  for (const bound of bounds) {
    if ((after.get(bound)! - (before.get(bound) ?? 0)) / total >= quantile) return bound === Infinity ? '>10000' : `≤${Math.round(bound * 1000)}`;
  }
  return '';
}

/**
 * `observed`: our server's measured phase, which gets a CPU profile (with --profile) and its own metrics scraped around it.
 * `deliveriesPerAction`: the events one action of `fire` delivers (1 for the unicast rows), by which a failed one lowers the expected.
 */
async function measure(
  load: ChildProcess,
  serverPid: number,
  expected: number,
  timeoutMs: number,
  fire: () => Promise<void>,
  observed?: { server: ServerProcess; label: string },
  deliveriesPerAction = 1,
) {
  const stopProfile = await profiled(observed?.server ?? null, observed?.label ?? '');
  const before = observed ? await scrapeServer(observed.server.url) : null;
  const usageBefore = processUsage(serverPid);
  const loadBefore = processUsage(load.pid!).cpuSeconds;
  const tcpBefore = tcpCounters();
  const machineBefore = machineBusySeconds();
  mutations.takeStats();
  phase = newPhase();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const collected = ask(load, { kind: 'collect', expected, timeoutMs }, 'collected');
  await fire();
  const senderCpu = process.cpuUsage(cpuBefore);
  const sendingSeconds = (performance.now() - started) / 1000;
  // A failed mutation delivers nothing: waiting for its event would only run into the timeout (and deflate deliveries/s).
  const failed = [...phase.failures.values()].reduce((sum, count) => sum + count, 0);
  if (failed > 0) load.send({ kind: 'expect', expected: expected - failed * deliveriesPerAction });
  const reply = await collected;
  const seconds = (performance.now() - started) / 1000;
  const usageAfter = processUsage(serverPid);
  const loadCpu = processUsage(load.pid!).cpuSeconds - loadBefore;
  const { failures, lateness, heldBack, answered } = phase;
  const tcpAfter = tcpCounters();
  const machineSeconds = machineBusySeconds() - machineBefore;
  const senderSeconds = (senderCpu.user + senderCpu.system) / 1e6;
  const sent = mutations.takeStats();
  await stopProfile();
  const after = observed ? await scrapeServer(observed.server.url) : null;
  return {
    serverLag:
      before && after
        ? `${lagQuantile(before.lag, after.lag, 0.5)} / ${lagQuantile(before.lag, after.lag, 0.99)}; loop ${after.loopLagP99Ms}; GC ${(after.gcSeconds - before.gcSeconds).toFixed(2)} s`
        : '',
    deliveries: reply.received ?? 0,
    deliveriesPerSecond: Math.round((reply.received ?? 0) / seconds),
    latency: percentiles(reply.latencies ?? []),
    serverRssMb: Math.round(usageAfter.rssBytes / 1024 / 1024),
    serverCpuSeconds: Math.round((usageAfter.cpuSeconds - usageBefore.cpuSeconds) * 100) / 100,
    failed,
    failures: Object.fromEntries(failures),
    connectionsOpened: sent ? sent.connectionsOpened : null,
    connectMs: sent?.connectMs.length ? percentiles(sent.connectMs) : null,
    listenOverflows: tcpAfter.listenOverflows - tcpBefore.listenOverflows,
    synRetransmits: tcpAfter.synRetransmits - tcpBefore.synRetransmits,
    senderCpuPercent: Math.round(((senderCpu.user + senderCpu.system) / 1e6 / Math.max(sendingSeconds, 0.001)) * 100),
    receiverCpuPercent: Math.round((loadCpu / seconds) * 100),
    serverCpuPercent: Math.round(((usageAfter.cpuSeconds - usageBefore.cpuSeconds) / seconds) * 100),
    // The sender's CPU after its sending is not counted: it is idle then, near enough.
    restCpuPercent: Math.max(0, Math.round(((machineSeconds - (usageAfter.cpuSeconds - usageBefore.cpuSeconds) - loadCpu - senderSeconds) / seconds) * 100)),
    sendLateness: lateness.length ? percentiles(lateness) : null,
    heldBack: heldBack.length,
    heldBackMs: heldBack.length ? percentiles(heldBack) : null,
    answeredMs: answered.length ? percentiles(answered) : null,
  };
}

const joined = (...parts: string[]) => parts.filter(Boolean).join(' ');

/**
 * A unicast scenario's rows: one mutation per event at --rate for --duration s, then, with --in-flight K,
 * the same number of events with K mutations in flight.
 */
async function unicastRows(bench: Bench, name: string, load: ChildProcess, bytesPerConnection: number, act: Action, keyOf?: KeyOf): Promise<Row[]> {
  const run = async (scenario: string, variant: string, label: string, fire: () => Promise<void>): Promise<Row> => ({
    scenario,
    variant,
    target: 'graphql',
    connections: N,
    expected: TOTAL,
    bytesPerConnection,
    ...(await measure(load, bench.pid, TOTAL, DURATION_S * 1000 + 60_000, fire, { server: bench.server, label })),
  });
  const rows = [await run(`${name} ${RATE}/s`, MUTATIONS_LABEL, name, () => paced(TOTAL, RATE, act, keyOf))];
  if (IN_FLIGHT > 0) {
    rows.push(await run(`${name} max`, joined(`(${IN_FLIGHT} in flight)`, MUTATIONS_LABEL), `${name}-max`, () => closedLoop(TOTAL, IN_FLIGHT, act, keyOf)));
  }
  return rows;
}

/** sendNotification from the admin: to these users, or with null to everyone. */
function notify(bench: Bench, userIds: string[] | null): Promise<unknown> {
  return bench.mutations.mutate(SendNotificationDocument, { input: { ...(userIds ? { userIds } : {}), title: `t:${Date.now()}`, body: 'bench' } }, bench.admin);
}

/** Each event reaches one user, but above 100/s the writes are batched: what is measured is delivery, not the mutation path. */
async function perUserBatchedRow(bench: Bench, load: ChildProcess, bytesPerConnection: number): Promise<Row> {
  const perMutation = Math.max(1, Math.ceil(RATE / MUTATIONS_PER_SECOND));
  const mutations = Math.ceil(TOTAL / perMutation);
  const recipients = (m: number) => Array.from({ length: Math.min(perMutation, TOTAL - m * perMutation) }, (_, j) => `bench-u${(m * perMutation + j) % N}`);
  const result = await measure(
    load,
    bench.pid,
    TOTAL,
    DURATION_S * 1000 + 60_000,
    () => paced(mutations, RATE / perMutation, (m) => notify(bench, recipients(m))),
    { server: bench.server, label: 'per-user-batched' },
    perMutation,
  );
  return { scenario: `per-user-batched ${RATE}/s`, variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: TOTAL, bytesPerConnection, ...result };
}

/** broadcast, per-user and per-user-batched: the N customers watch notificationAdded. */
async function notificationRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.some((name) => name === 'broadcast' || name.startsWith('per-user'))) return [];
  const rows: Row[] = [];
  await bench.mutations.open([bench.admin]);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [NOTIFICATION_ADDED], bench.pid);
  // Every connection's subscription is live once a probe broadcast reaches all of them.
  await measure(load, bench.pid, N, 60_000, async () => void (await notify(bench, null)));
  if (scenarios.includes('broadcast')) {
    const result = await measure(load, bench.pid, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => notify(bench, null)), { server: bench.server, label: 'broadcast' }, N);
    rows.push({ scenario: 'broadcast', variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
  }
  for (const name of scenarios.filter((scenario) => scenario === 'per-user' || scenario === 'per-user-batched')) {
    if (name === 'per-user') rows.push(...(await unicastRows(bench, name, load, bytesPerConnection, (i) => notify(bench, [`bench-u${i % N}`]))));
    else rows.push(await perUserBatchedRow(bench, load, bytesPerConnection));
  }
  load.send({ kind: 'close' });
  return rows;
}

async function boardRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('board')) return [];
  await bench.mutations.open([bench.admin]);
  const admins = await userTokens(N, 'admin');
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', admins, [ACTIVITY_ADDED], bench.pid);
  await measure(load, bench.pid, N, 60_000, async () => void (await notify(bench, ['bench-u0'])));
  const result = await measure(load, bench.pid, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => notify(bench, ['bench-u0'])), { server: bench.server, label: 'board' }, N);
  load.send({ kind: 'close' });
  return [{ scenario: 'board', variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result }];
}

/** ⌈N/100⌉ partners, each assigned every ⌈N/100⌉th of the N orders (one per customer). */
async function createOrders(bench: Bench) {
  const url = bench.server.url;
  const partners = Math.max(1, Math.round(N / 100));
  const partnerTokens = await Promise.all(
    Array.from({ length: partners }, (_, j) => token({ sub: `bench-partner-${j}`, role: 'partner', partner_id: `bench-p${j}` }, '2h')),
  );
  await Promise.all(partnerTokens.map((jwt) => httpData(url, MeDocument, {}, jwt)));
  const orderIds = await inBatches(N, 50, async (i) => {
    const { createOrder } = await httpData(url, CreateOrderDocument, { input: { description: `bench order ${i}`, totalCents: 2500 } }, bench.tokens[i]!);
    await httpData(url, AssignOrderDocument, { orderId: createOrder.id, partnerId: `bench-p${i % partners}` }, bench.admin);
    return createOrder.id;
  });
  return { partnerTokens, orderIds };
}

async function orderRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('orders')) return [];
  const { partnerTokens, orderIds } = await createOrders(bench);
  await bench.mutations.open(partnerTokens);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [ORDER_TRACKING], bench.pid, orderIds.map((orderId) => ({ orderId })));
  // Every subscription starts with its order's current state: all N have arrived once they are live.
  await measure(load, bench.pid, N, 60_000, async () => {});
  // The status steps each order has taken. Its updates run one at a time (keyed by order), so the step an
  // update asks for is the one after the order's last answered one; a refused step is asked again next time.
  const steps = new Array<number>(N).fill(0);
  const orderOf = (i: number) => i % N;
  const update = async (i: number) => {
    const k = orderOf(i);
    const partner = partnerTokens[k % partnerTokens.length]!;
    const step = steps[k]!;
    if (i % 5 === 0 && step < STATUS_STEPS.length) {
      await bench.mutations.mutate(UpdateOrderStatusDocument, { orderId: orderIds[k]!, status: STATUS_STEPS[step]! }, partner);
      steps[k] = step + 1;
      return;
    }
    await bench.mutations.mutate(UpdateOrderLocationDocument, { orderId: orderIds[k]!, latitude: 52.5 + (i % 1000) / 10_000, longitude: 13.4 }, partner);
  };
  const rows = await unicastRows(bench, 'orders', load, bytesPerConnection, update, orderOf);
  load.send({ kind: 'close' });
  return rows;
}

/** The chat agents: each in ⌈N / agents⌉ conversations, so that no one user sends most messages. */
const CHAT_AGENTS = Math.max(1, Math.min(100, Math.ceil(N / 10)));

/**
 * Customer i opens a direct conversation with agent i % agents, who says hello there: the watcher
 * subscribes since that message.
 */
async function openChats(bench: Bench) {
  const url = bench.server.url;
  const agentTokens = await Promise.all(Array.from({ length: CHAT_AGENTS }, (_, j) => token({ sub: `bench-agent-${j}`, role: 'customer', name: `Agent ${j}` }, '2h')));
  await Promise.all(agentTokens.map((jwt) => httpData(url, MeDocument, {}, jwt)));
  const chats = await inBatches(N, 50, async (i) => {
    const { openDirectConversation } = await httpData(url, OpenDirectConversationDocument, { userId: `bench-agent-${i % CHAT_AGENTS}` }, bench.tokens[i]!);
    const { sendMessage } = await httpData(url, SendMessageDocument, { input: { conversationId: openDirectConversation.id, body: 'hello' } }, agentTokens[i % CHAT_AGENTS]!);
    return { conversationId: openDirectConversation.id, since: sendMessage.id };
  });
  return { agentTokens, chats };
}

async function chatRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('chat')) return [];
  const { agentTokens, chats } = await openChats(bench);
  await bench.mutations.open(agentTokens);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [MESSAGE_ADDED], bench.pid, chats);
  // Round-robin over the conversations, each message from the conversation's agent.
  const say = (i: number) => {
    const k = i % N;
    return bench.mutations.mutate(SendMessageDocument, { input: { conversationId: chats[k]!.conversationId, body: `t:${Date.now()}` } }, agentTokens[k % CHAT_AGENTS]!);
  };
  // A probe message in every conversation: all N subscriptions are live once each has arrived.
  await measure(load, bench.pid, N, 60_000, async () => void (await inBatches(N, 50, say)));
  const rows = await unicastRows(bench, 'chat', load, bytesPerConnection, say);
  load.send({ kind: 'close' });
  return rows;
}

async function idleRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('idle')) return [];
  const subscriptions = [NOTIFICATION_ADDED, UNREAD_COUNT, ORDER_UPDATED].slice(0, Number(values.subs));
  const inspector = inspectorUrlIn(bench.server.output());
  const heapBefore = await heapUsedAfterGc(inspector);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, subscriptions, bench.pid);
  heapPerConnection = Math.round((await heapUsedAfterGc(inspector) - heapBefore) / N);
  if (values['heap-snapshot']) await writeHeapSnapshot(inspector, values['heap-snapshot']);
  const usage = processUsage(bench.pid);
  load.send({ kind: 'close' });
  return [idleRow('graphql', usage.rssBytes, bytesPerConnection)];
}

function idleRow(target: Row['target'], rssBytes: number, bytesPerConnection: number): Row {
  return {
    scenario: `idle ×${values.subs} subs`,
    target,
    connections: N,
    deliveries: 0,
    expected: 0,
    deliveriesPerSecond: 0,
    latency: percentiles([]),
    serverRssMb: Math.round(rssBytes / 1024 / 1024),
    serverCpuSeconds: 0,
    bytesPerConnection,
    failed: 0,
    failures: {},
    senderCpuPercent: 0,
    receiverCpuPercent: 0,
    serverCpuPercent: 0,
    restCpuPercent: 0,
    sendLateness: null,
    heldBack: 0,
    heldBackMs: null,
    answeredMs: null,
    connectionsOpened: null,
    connectMs: null,
    listenOverflows: 0,
    synRetransmits: 0,
  };
}

async function graphqlRun(bench: Bench): Promise<Row[]> {
  return [...(await notificationRows(bench)), ...(await boardRows(bench)), ...(await orderRows(bench)), ...(await chatRows(bench)), ...(await idleRows(bench))];
}

async function rawRun(): Promise<Row[]> {
  const raw = child('./lib/raw-server.ts');
  const { port } = await ask(raw, {}, 'listening');
  const pid = raw.pid!;
  const url = `ws://127.0.0.1:${port}`;
  const rows: Row[] = [];
  const frame = (i: number) =>
    JSON.stringify({ id: '1', type: 'next', payload: { data: { notificationAdded: { id: String(1_000_000 + i), title: `t:${Date.now()}`, body: 'bench', createdAt: new Date().toISOString() } } } });
  const { load, bytesPerConnection } = await connectLoad(url, 'raw', Array.from({ length: N }, () => ''), [], pid);
  const row = async (scenario: string, expected: number, timeoutMs: number, fire: () => Promise<void>): Promise<Row> => ({
    scenario,
    target: 'raw ws',
    connections: N,
    expected,
    bytesPerConnection,
    ...(await measure(load, pid, expected, timeoutMs, fire)),
  });
  const unicast = (i: number) => void raw.send({ kind: 'unicast', index: i, frame: frame(i) });
  for (const scenario of scenarios.filter((name) => name === 'broadcast' || name === 'board')) {
    rows.push(await row(scenario, N * EVENTS, 60_000, () => paced(EVENTS, EVENT_RATE, (i) => void raw.send({ kind: 'broadcast', frame: frame(i) }))));
  }
  for (const scenario of scenarios.filter((name) => UNICAST.includes(name))) {
    rows.push(await row(`${scenario} ${RATE}/s`, TOTAL, DURATION_S * 1000 + 30_000, () => paced(TOTAL, RATE, unicast)));
    // The counterpart of --in-flight: as fast as the raw server sends.
    if (IN_FLIGHT > 0 && CLOSED_LOOP.includes(scenario)) rows.push(await row(`${scenario} max`, TOTAL, DURATION_S * 1000 + 30_000, () => paced(TOTAL, 0, unicast)));
  }
  if (scenarios.includes('idle')) rows.push(idleRow('raw ws', processUsage(pid).rssBytes, bytesPerConnection));
  load.send({ kind: 'close' });
  raw.send({ kind: 'close' });
  return rows;
}

// Each of N connections is a file descriptor in the server and in the load process. Node cannot raise
// its own limit: `npm run bench:fanout` raises the soft limit to the hard one in a shell first, which
// is all an unprivileged process may do, and every process started from here inherits it.
const openFiles = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
const hardOpenFiles = execSync('ulimit -Hn', { shell: '/bin/sh' }).toString().trim();
if (Number.isFinite(openFiles) && N + 500 > openFiles) {
  console.warn(`open-file limit ${openFiles} (hard ${hardOpenFiles}) is below N + 500: connections past it will fail; run under \`ulimit -n ${hardOpenFiles}\` or lower --n`);
}
if (!values.tsx) execSync('npm run build --silent', { stdio: 'inherit' });
const { env, cleanup } = await backendEnv(backend);
const server = await startServerProcess(
  // SEND_MESSAGE_LIMIT: each chat agent sends ⌈events / agents⌉ messages, far above sendMessage's 30 per 10 s.
  { ...env, LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_USER: String(N + 10), SHARED_EXECUTION: String(SHARED), SEND_MESSAGE_LIMIT: '1000000' },
  [
    // The idle scenario reads the heap after a full GC, and --profile the CPU profile, through the inspector, on loopback.
    ...(scenarios.includes('idle') || values.profile ? ['--inspect=127.0.0.1:0'] : []),
  ],
  // As production runs it (see docs/deployment.md): the build, not tsx, whose keepNames gives every named closure a property table.
  { compiled: !values.tsx },
);
let rows: Row[] = [];
const mutations = OVER_WS ? wsMutations(server.url, WS_MUTATION_SOCKETS) : values['http-sender'] === 'fetch' ? fetchMutations(server.url) : httpMutations(server.url, HTTP_SOCKETS || Infinity);
try {
  const tokens = await userTokens(N);
  const admin = await token({ sub: 'bench-admin', role: 'admin' }, '2h');
  await httpData(server.url, MeDocument, {}, admin);
  rows = [...(await graphqlRun({ server, pid: server.child.pid!, wsUrl: server.url.replace(/^http/, 'ws'), tokens, admin, mutations })), ...(await rawRun())];
} finally {
  await mutations.close();
  await server.kill('SIGTERM');
  await cleanup();
}

/** The server's CPU per event (ms) of a unicast row: each of its deliveries is one event. */
function cpuPerEvent(row: Row): string {
  const unicast = UNICAST.some((name) => row.scenario.startsWith(`${name} `));
  return unicast && row.deliveries ? ((row.serverCpuSeconds * 1000) / row.deliveries).toFixed(3) : '';
}

const label = (row: Row) => joined(row.scenario, row.variant ?? '');
const rawByScenario = new Map(rows.filter((row) => row.target === 'raw ws').map((row) => [row.scenario, row]));
const httpSenderNote = values['http-sender'] === 'fetch' ? 'fetch' : `node:http, ${HTTP_SOCKETS ? `at most ${HTTP_SOCKETS}` : 'unlimited'} connections`;
const inFlightNote = IN_FLIGHT > 0 ? `, then ${IN_FLIGHT} mutations in flight` : '';
console.log(
  `\nfan-out on ${backend}, N=${N}, events=${EVENTS}, event rate=${EVENT_RATE || 'back to back'}, rate=${RATE}/s for ${DURATION_S} s${inFlightNote}, mutations over ${OVER_WS ? 'graphql-ws' : `HTTP (${httpSenderNote})`}, shared execution ${SHARED ? 'on' : 'off'}\n`,
);
console.log(
  '| scenario | target | conns | delivered/expected | mutations failed | deliveries/s | ratio to raw | p50 ms | p95 ms | p99 ms | max ms | commit→server p50/p99 ms; loop delay p99 ms; GC | server RSS MB | server CPU s | server CPU ms/event | bytes/conn |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  const raw = rawByScenario.get(row.scenario);
  const ratio = raw && row.target === 'graphql' && raw.deliveriesPerSecond ? (row.deliveriesPerSecond / raw.deliveriesPerSecond).toFixed(2) : '';
  const l = row.latency;
  console.log(
    `| ${label(row)} | ${row.target} | ${row.connections} | ${row.deliveries}/${row.expected} | ${row.target === 'graphql' ? row.failed : ''} | ${row.deliveriesPerSecond} | ${ratio} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} | ${row.serverLag ?? ''} | ${row.serverRssMb} | ${row.serverCpuSeconds} | ${cpuPerEvent(row)} | ${row.bytesPerConnection} |`,
  );
}
const measuredRows = rows.filter((row) => row.expected > 0);
const sender = OVER_WS ? 'graphql-ws' : httpSenderNote;
console.log(
  `\nload processes: the sender (this process, mutations over ${sender}; raw rows: IPC to the raw server) while it sent, the receiver (the load process holding the N connections), the server and the rest of the machine (PostgreSQL, Redis, other work) over the phase, CPU % of one core (${availableParallelism()} cores in all); open loop: how late the sends went out after their due time; held back: orders' updates that waited for their order's previous one (ms past due, or past their turn in the closed loop)\n`,
);
console.log(
  '| scenario | target | sender CPU % | receiver CPU % | server CPU % | rest of the machine CPU % | sent late p50 / p99 / max ms | answered p50 / p99 / max ms | held back (wait p99 / max ms) | HTTP connections opened (connect p99 / max ms) | listen overflows; SYN retransmits (system-wide) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of measuredRows) {
  const late = row.sendLateness ? `${row.sendLateness.p50} / ${row.sendLateness.p99} / ${row.sendLateness.max}` : '';
  const held = row.heldBack && row.heldBackMs ? `${row.heldBack} (${row.heldBackMs.p99} / ${row.heldBackMs.max})` : row.target === 'graphql' ? '0' : '';
  const opened = row.connectionsOpened === null || row.target !== 'graphql' ? '' : `${row.connectionsOpened}${row.connectMs ? ` (${row.connectMs.p99} / ${row.connectMs.max})` : ''}`;
  console.log(
    `| ${label(row)} | ${row.target} | ${row.senderCpuPercent} | ${row.receiverCpuPercent} | ${row.serverCpuPercent} | ${row.restCpuPercent} | ${late} | ${row.answeredMs && row.target === 'graphql' ? `${row.answeredMs.p50} / ${row.answeredMs.p99} / ${row.answeredMs.max}` : ''} | ${held} | ${opened} | ${row.listenOverflows}; ${row.synRetransmits} |`,
  );
}
const failedActions = rows.reduce((sum, row) => sum + row.failed, 0);
if (failedActions > 0) {
  const byKind = new Map<string, { count: number; rows: string[] }>();
  for (const row of rows) {
    for (const [kind, count] of Object.entries(row.failures)) {
      const group = byKind.get(kind) ?? { count: 0, rows: [] };
      group.count += count;
      group.rows.push(`${label(row)}: ${count}`);
      byKind.set(kind, group);
    }
  }
  const groups = [...byKind].sort((a, b) => b[1].count - a[1].count);
  console.log(`\n${failedActions} mutations of the measured phases failed, ${groups.length} distinct error${groups.length === 1 ? '' : 's'}${groups.length > FAILURE_KINDS_SHOWN ? `, the ${FAILURE_KINDS_SHOWN} most frequent` : ''}:`);
  for (const [kind, group] of groups.slice(0, FAILURE_KINDS_SHOWN)) console.log(`- ${group.count}× ${kind} (${group.rows.join('; ')})`);
}
if (heapPerConnection !== null) console.log(`\nidle: the server's heap after a full GC grew by ${heapPerConnection} bytes per connection (${values.subs} subscriptions each)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/fanout-${backend}-${N}.json`,
  JSON.stringify(
    { at: new Date().toISOString(), backend, N, EVENTS, EVENT_RATE, RATE, DURATION_S, IN_FLIGHT, mutationsOver: values['mutations-over'], httpSender: values['http-sender'], HTTP_SOCKETS, SHARED, failedActions, heapPerConnection, rows },
    null,
    2,
  ),
);
process.exit(0);
