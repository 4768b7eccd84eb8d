/**
 * Fan-out benchmark: the server (own process) against a load process holding
 * N graphql-ws connections, and in the same run the same workload on a raw
 * `ws` server sending pre-serialized frames: the limit to compare with.
 *
 *   npm run bench:fanout                              PostgreSQL + Redis, defaults (< 1 min)
 *   npm run bench:fanout -- --embedded --n 5000 --events 10 --scenario broadcast
 *
 * Scenarios: broadcast (one sendNotification to every user: N different
 * notifications), board (one event to N admins watching activityAdded: the
 * same data for all, where shared execution applies), per-user
 * (notifications round-robin to N users at --rate for --duration s, one
 * sendNotification to one user per event: the write path is measured too),
 * per-user-batched (the same events, but above 100/s one sendNotification
 * names several users, 100 mutations/s: delivery only; not in 'all'), orders
 * (N customers each watching their order while partners post status and
 * location updates at --rate), idle (N connections × --subs subscriptions).
 * --event-rate paces broadcast and board events (0: back to back);
 * --shared false runs the server with SHARED_EXECUTION=false.
 * Results: bench/results/fanout-*.json and a markdown table on stdout.
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AssignOrderDocument,
  CreateOrderDocument,
  MeDocument,
  SendNotificationDocument,
  UpdateOrderLocationDocument,
  UpdateOrderStatusDocument,
} from '../test/generated/graphql.js';
import { httpData } from '../test/support/clients.js';
import { backendEnv, startServerProcess, token, type ServerProcess } from '../test/support/server.js';
import { heapUsedAfterGc, inspectorUrlIn, startCpuProfile, writeHeapSnapshot } from './lib/inspector.js';
import { percentiles, processUsage } from './lib/proc.js';

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
const SHARED = values.shared !== 'false';
const scenarios = values.scenario === 'all' ? ['broadcast', 'board', 'per-user', 'orders', 'idle'] : values.scenario!.split(',');
/** per-user-batched's write rate: faster event rates name several users per sendNotification. */
const MUTATIONS_PER_SECOND = 100;
/** Scenarios whose raw counterpart sends one frame to one socket at --rate. */
const UNICAST = ['per-user', 'per-user-batched', 'orders'];
/** Heap (after a full GC) the server keeps per idle connection, set by the idle scenario. */
let heapPerConnection: number | null = null;
const backend = values.embedded ? 'embedded' : 'postgres+redis';

const NOTIFICATION_ADDED = 'subscription { notificationAdded { id title body createdAt } }';
const UNREAD_COUNT = 'subscription { unreadCountChanged }';
const ORDER_UPDATED = 'subscription { orderUpdated { id status updatedAt } }';
const ACTIVITY_ADDED = 'subscription { activityAdded { id topic summary occurredAt } }';
const ORDER_TRACKING = 'subscription ($orderId: ID) { orderUpdated(orderId: $orderId) { id status updatedAt lastLocation { latitude longitude } } }';
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

/** Failed actions of the measured phases (e.g. a refused mutation), printed with the table with the first error. */
let failedActions = 0;
let firstFailure: unknown = null;

/** Runs `count` actions at `perSecond` (all in flight as due), or one after another when perSecond is 0. */
async function paced(count: number, perSecond: number, act: (index: number) => Promise<unknown> | void): Promise<void> {
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  const counted = (index: number) =>
    Promise.resolve(act(index)).catch((error: unknown) => {
      failedActions += 1;
      firstFailure ??= error;
    });
  for (let i = 0; i < count; i += 1) {
    if (perSecond <= 0) {
      await counted(i);
      continue;
    }
    const wait = started + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(counted(i));
  }
  await Promise.all(inFlight);
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
  scenario: string;
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

/** `observed`: our server's measured phase, which gets a CPU profile (with --profile) and its own metrics scraped around it. */
async function measure(load: ChildProcess, serverPid: number, expected: number, timeoutMs: number, fire: () => Promise<void>, observed?: { server: ServerProcess; label: string }) {
  const stopProfile = await profiled(observed?.server ?? null, observed?.label ?? '');
  const before = observed ? await scrapeServer(observed.server.url) : null;
  const usageBefore = processUsage(serverPid);
  const started = performance.now();
  const collected = ask(load, { kind: 'collect', expected, timeoutMs }, 'collected');
  await fire();
  const reply = await collected;
  const seconds = (performance.now() - started) / 1000;
  const usageAfter = processUsage(serverPid);
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
  };
}

async function graphqlRun(server: ServerProcess, tokens: string[], admin: string): Promise<Row[]> {
  const pid = server.child.pid!;
  const rows: Row[] = [];
  const wsUrl = server.url.replace(/^http/, 'ws');
  const send = (userIds: string[] | null) =>
    httpData(server.url, SendNotificationDocument, { input: { ...(userIds ? { userIds } : {}), title: `t:${Date.now()}`, body: 'bench' } }, admin);

  if (scenarios.some((name) => name === 'broadcast' || name.startsWith('per-user'))) {
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', tokens, [NOTIFICATION_ADDED], pid);
    // Every connection's subscription is live once a probe broadcast reaches all of them.
    await measure(load, pid, N, 60_000, async () => void (await send(null)));
    if (scenarios.includes('broadcast')) {
      const result = await measure(load, pid, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => send(null)), { server, label: 'broadcast' });
      rows.push({ scenario: 'broadcast', target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
    }
    for (const name of scenarios.filter((scenario) => scenario === 'per-user' || scenario === 'per-user-batched')) {
      const total = RATE * DURATION_S;
      // Each event reaches one user. per-user: one mutation per event. per-user-batched: above 100/s the writes
      // are batched, so what is measured is delivery, not the mutation path.
      const perMutation = name === 'per-user' ? 1 : Math.max(1, Math.ceil(RATE / MUTATIONS_PER_SECOND));
      const mutations = Math.ceil(total / perMutation);
      const recipients = (m: number) => Array.from({ length: Math.min(perMutation, total - m * perMutation) }, (_, j) => `bench-u${(m * perMutation + j) % N}`);
      const result = await measure(load, pid, total, DURATION_S * 1000 + 60_000, () => paced(mutations, RATE / perMutation, (m) => send(recipients(m))), {
        server,
        label: name,
      });
      rows.push({ scenario: `${name} ${RATE}/s`, target: 'graphql', connections: N, expected: total, bytesPerConnection, ...result });
    }
    load.send({ kind: 'close' });
  }

  if (scenarios.includes('board')) {
    const admins = await userTokens(N, 'admin');
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', admins, [ACTIVITY_ADDED], pid);
    await measure(load, pid, N, 60_000, async () => void (await send(['bench-u0'])));
    const result = await measure(load, pid, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => send(['bench-u0'])), { server, label: 'board' });
    rows.push({ scenario: 'board', target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
    load.send({ kind: 'close' });
  }

  if (scenarios.includes('orders')) {
    const partners = Math.max(1, Math.round(N / 100));
    const partnerTokens = await Promise.all(
      Array.from({ length: partners }, (_, j) => token({ sub: `bench-partner-${j}`, role: 'partner', partner_id: `bench-p${j}` }, '2h')),
    );
    await Promise.all(partnerTokens.map((jwt) => httpData(server.url, MeDocument, {}, jwt)));
    const orderIds = await inBatches(N, 50, async (i) => {
      const { createOrder } = await httpData(server.url, CreateOrderDocument, { input: { description: `bench order ${i}`, totalCents: 2500 } }, tokens[i]!);
      await httpData(server.url, AssignOrderDocument, { orderId: createOrder.id, partnerId: `bench-p${i % partners}` }, admin);
      return createOrder.id;
    });
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', tokens, [ORDER_TRACKING], pid, orderIds.map((orderId) => ({ orderId })));
    // Every subscription starts with its order's current state: all N have arrived once they are live.
    await measure(load, pid, N, 60_000, async () => {});
    const total = RATE * DURATION_S;
    const steps = new Array<number>(N).fill(0);
    const result = await measure(
      load,
      pid,
      total,
      DURATION_S * 1000 + 60_000,
      () =>
        paced(total, RATE, (i) => {
          const k = i % N;
          const partner = partnerTokens[k % partners]!;
          const step = steps[k]!;
          if (i % 5 === 0 && step < STATUS_STEPS.length) {
            steps[k] = step + 1;
            return httpData(server.url, UpdateOrderStatusDocument, { orderId: orderIds[k]!, status: STATUS_STEPS[step]! }, partner);
          }
          return httpData(server.url, UpdateOrderLocationDocument, { orderId: orderIds[k]!, latitude: 52.5 + (i % 1000) / 10_000, longitude: 13.4 }, partner);
        }),
      { server, label: 'orders' },
    );
    rows.push({ scenario: `orders ${RATE}/s`, target: 'graphql', connections: N, expected: total, bytesPerConnection, ...result });
    load.send({ kind: 'close' });
  }

  if (scenarios.includes('idle')) {
    const subscriptions = [NOTIFICATION_ADDED, UNREAD_COUNT, ORDER_UPDATED].slice(0, Number(values.subs));
    const inspector = inspectorUrlIn(server.output());
    const heapBefore = await heapUsedAfterGc(inspector);
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', tokens, subscriptions, pid);
    heapPerConnection = Math.round((await heapUsedAfterGc(inspector) - heapBefore) / N);
    if (values['heap-snapshot']) await writeHeapSnapshot(inspector, values['heap-snapshot']);
    const usage = processUsage(pid);
    rows.push({
      scenario: `idle ×${values.subs} subs`,
      target: 'graphql',
      connections: N,
      deliveries: 0,
      expected: 0,
      deliveriesPerSecond: 0,
      latency: percentiles([]),
      serverRssMb: Math.round(usage.rssBytes / 1024 / 1024),
      serverCpuSeconds: 0,
      bytesPerConnection,
    });
    load.send({ kind: 'close' });
  }
  return rows;
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
  for (const scenario of scenarios.filter((name) => name === 'broadcast' || name === 'board')) {
    const result = await measure(load, pid, N * EVENTS, 60_000, () => paced(EVENTS, EVENT_RATE, (i) => void raw.send({ kind: 'broadcast', frame: frame(i) })));
    rows.push({ scenario, target: 'raw ws', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
  }
  for (const scenario of scenarios.filter((name) => UNICAST.includes(name))) {
    const total = RATE * DURATION_S;
    const result = await measure(load, pid, total, DURATION_S * 1000 + 30_000, () => paced(total, RATE, (i) => void raw.send({ kind: 'unicast', index: i, frame: frame(i) })));
    rows.push({ scenario: `${scenario} ${RATE}/s`, target: 'raw ws', connections: N, expected: total, bytesPerConnection, ...result });
  }
  if (scenarios.includes('idle')) {
    rows.push({
      scenario: `idle ×${values.subs} subs`,
      target: 'raw ws',
      connections: N,
      deliveries: 0,
      expected: 0,
      deliveriesPerSecond: 0,
      latency: percentiles([]),
      serverRssMb: Math.round(processUsage(pid).rssBytes / 1024 / 1024),
      serverCpuSeconds: 0,
      bytesPerConnection,
    });
  }
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
  { ...env, LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_USER: String(N + 10), SHARED_EXECUTION: String(SHARED) },
  [
    // The idle scenario reads the heap after a full GC, and --profile the CPU profile, through the inspector, on loopback.
    ...(scenarios.includes('idle') || values.profile ? ['--inspect=127.0.0.1:0'] : []),
  ],
  // As production runs it (see docs/deployment.md): the build, not tsx, whose keepNames gives every named closure a property table.
  { compiled: !values.tsx },
);
let rows: Row[] = [];
try {
  const tokens = await userTokens(N);
  const admin = await token({ sub: 'bench-admin', role: 'admin' }, '2h');
  await httpData(server.url, MeDocument, {}, admin);
  rows = [...(await graphqlRun(server, tokens, admin)), ...(await rawRun())];
} finally {
  await server.kill('SIGTERM');
  await cleanup();
}

const rawByScenario = new Map(rows.filter((row) => row.target === 'raw ws').map((row) => [row.scenario, row]));
console.log(`\nfan-out on ${backend}, N=${N}, events=${EVENTS}, event rate=${EVENT_RATE || 'back to back'}, rate=${RATE}/s for ${DURATION_S} s, shared execution ${SHARED ? 'on' : 'off'}\n`);
console.log('| scenario | target | conns | delivered/expected | deliveries/s | ratio to raw | p50 ms | p95 ms | p99 ms | max ms | commit→server p50/p99 ms; loop delay p99 ms; GC | server RSS MB | server CPU s | bytes/conn |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  const raw = rawByScenario.get(row.scenario);
  const ratio = raw && row.target === 'graphql' && raw.deliveriesPerSecond ? (row.deliveriesPerSecond / raw.deliveriesPerSecond).toFixed(2) : '';
  const l = row.latency;
  console.log(
    `| ${row.scenario} | ${row.target} | ${row.connections} | ${row.deliveries}/${row.expected} | ${row.deliveriesPerSecond} | ${ratio} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} | ${row.serverLag ?? ''} | ${row.serverRssMb} | ${row.serverCpuSeconds} | ${row.bytesPerConnection} |`,
  );
}
if (failedActions > 0) console.log(`\n${failedActions} mutations of the measured phases failed; the first: ${String(firstFailure)}`);
if (heapPerConnection !== null) console.log(`\nidle: the server's heap after a full GC grew by ${heapPerConnection} bytes per connection (${values.subs} subscriptions each)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/fanout-${backend}-${N}.json`,
  JSON.stringify({ at: new Date().toISOString(), backend, N, EVENTS, EVENT_RATE, RATE, DURATION_S, SHARED, failedActions, heapPerConnection, rows }, null, 2),
);
process.exit(0);
