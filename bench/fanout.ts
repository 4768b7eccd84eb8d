/**
 * Fan-out benchmark: the server (own process) against a load process holding
 * N graphql-ws connections, and in the same run the same workload on a raw
 * `ws` server sending pre-serialized frames: the limit to compare with.
 *
 *   npm run bench:fanout                              PostgreSQL + Redis, defaults (< 1 min)
 *   npm run bench:fanout -- --embedded --n 5000 --events 10 --scenario broadcast
 *
 * Scenarios: broadcast (one sendNotification to every user), per-user
 * (notifications round-robin to N users at --rate for --duration s), idle
 * (N connections × 3 subscriptions held). Results: bench/results/fanout-*.json
 * and a markdown table on stdout.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeDocument, SendNotificationDocument } from '../test/generated/graphql.js';
import { httpData } from '../test/support/clients.js';
import { backendEnv, startServerProcess, token, type ServerProcess } from '../test/support/server.js';
import { heapUsedAfterGc, inspectorUrlIn } from './lib/inspector.js';
import { percentiles, processUsage } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    events: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '5' },
    scenario: { type: 'string', default: 'all' },
    embedded: { type: 'boolean', default: false },
    /** Subscriptions per connection in the idle scenario (0–3). */
    subs: { type: 'string', default: '3' },
    /** Writes a V8 CPU profile of the server to this directory. */
    profile: { type: 'string' },
  },
});
const N = Number(values.n);
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const DURATION_S = Number(values.duration);
const scenarios = values.scenario === 'all' ? ['broadcast', 'per-user', 'idle'] : [values.scenario!];
/** Heap (after a full GC) the server keeps per idle connection, set by the idle scenario. */
let heapPerConnection: number | null = null;
const backend = values.embedded ? 'embedded' : 'postgres+redis';

const NOTIFICATION_ADDED = 'subscription { notificationAdded { id title body createdAt } }';
const UNREAD_COUNT = 'subscription { unreadCountChanged }';
const ORDER_UPDATED = 'subscription { orderUpdated { id status updatedAt } }';

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
}

async function userTokens(count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => token({ sub: `bench-u${i}`, role: 'customer' }, '2h')));
}

/** Opens N connections from a fresh load process; returns it with the server's RSS growth per connection. */
async function connectLoad(url: string, mode: 'graphql' | 'raw', tokens: string[], subscriptions: string[], serverPid: number) {
  const load = child('./lib/load-client.ts');
  const before = processUsage(serverPid).rssBytes;
  const reply = await ask(load, { kind: 'connect', url, mode, tokens, subscriptions }, 'connected');
  if (reply.failed) console.warn(`${reply.failed} of ${tokens.length} connections failed`);
  await sleep(500);
  const bytesPerConnection = Math.round((processUsage(serverPid).rssBytes - before) / tokens.length);
  return { load, bytesPerConnection };
}

async function measure(load: ChildProcess, serverPid: number, expected: number, timeoutMs: number, fire: () => Promise<void>) {
  const usageBefore = processUsage(serverPid);
  const started = performance.now();
  const collected = ask(load, { kind: 'collect', expected, timeoutMs }, 'collected');
  await fire();
  const reply = await collected;
  const seconds = (performance.now() - started) / 1000;
  const usageAfter = processUsage(serverPid);
  return {
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

  if (scenarios.includes('broadcast') || scenarios.includes('per-user')) {
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', tokens, [NOTIFICATION_ADDED], pid);
    // Every connection's subscription is live once a probe broadcast reaches all of them.
    await measure(load, pid, N, 60_000, async () => void (await send(null)));
    if (scenarios.includes('broadcast')) {
      const result = await measure(load, pid, N * EVENTS, 120_000, async () => {
        for (let i = 0; i < EVENTS; i += 1) await send(null);
      });
      rows.push({ scenario: 'broadcast', target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
    }
    if (scenarios.includes('per-user')) {
      const total = RATE * DURATION_S;
      const result = await measure(load, pid, total, DURATION_S * 1000 + 60_000, async () => {
        const started = performance.now();
        const inFlight: Promise<unknown>[] = [];
        for (let i = 0; i < total; i += 1) {
          const due = started + (i * 1000) / RATE;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
          inFlight.push(send([`bench-u${i % N}`]));
        }
        await Promise.all(inFlight);
      });
      rows.push({ scenario: `per-user ${RATE}/s`, target: 'graphql', connections: N, expected: total, bytesPerConnection, ...result });
    }
    load.send({ kind: 'close' });
  }

  if (scenarios.includes('idle')) {
    const subscriptions = [NOTIFICATION_ADDED, UNREAD_COUNT, ORDER_UPDATED].slice(0, Number(values.subs));
    const inspector = inspectorUrlIn(server.output());
    const heapBefore = await heapUsedAfterGc(inspector);
    const { load, bytesPerConnection } = await connectLoad(wsUrl, 'graphql', tokens, subscriptions, pid);
    heapPerConnection = Math.round((await heapUsedAfterGc(inspector) - heapBefore) / N);
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
  if (scenarios.includes('broadcast')) {
    const result = await measure(load, pid, N * EVENTS, 60_000, async () => {
      for (let i = 0; i < EVENTS; i += 1) raw.send({ kind: 'broadcast', frame: frame(i) });
    });
    rows.push({ scenario: 'broadcast', target: 'raw ws', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
  }
  if (scenarios.includes('per-user')) {
    const total = RATE * DURATION_S;
    const result = await measure(load, pid, total, DURATION_S * 1000 + 30_000, async () => {
      const started = performance.now();
      for (let i = 0; i < total; i += 1) {
        const wait = started + (i * 1000) / RATE - performance.now();
        if (wait > 1) await sleep(wait);
        raw.send({ kind: 'unicast', index: i, frame: frame(i) });
      }
    });
    rows.push({ scenario: `per-user ${RATE}/s`, target: 'raw ws', connections: N, expected: total, bytesPerConnection, ...result });
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

const { env, cleanup } = await backendEnv(backend);
const server = await startServerProcess(
  { ...env, LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_USER: String(N + 10) },
  [
    ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []),
    // The idle scenario reads the heap after a full GC through the inspector, on loopback.
    ...(scenarios.includes('idle') ? ['--inspect=127.0.0.1:0'] : []),
  ],
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
console.log(`\nfan-out on ${backend}, N=${N}, events=${EVENTS}\n`);
console.log('| scenario | target | conns | delivered/expected | deliveries/s | ratio to raw | p50 ms | p95 ms | p99 ms | max ms | server RSS MB | server CPU s | bytes/conn |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  const raw = rawByScenario.get(row.scenario);
  const ratio = raw && row.target === 'graphql' && raw.deliveriesPerSecond ? (row.deliveriesPerSecond / raw.deliveriesPerSecond).toFixed(2) : '';
  const l = row.latency;
  console.log(
    `| ${row.scenario} | ${row.target} | ${row.connections} | ${row.deliveries}/${row.expected} | ${row.deliveriesPerSecond} | ${ratio} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.max} | ${row.serverRssMb} | ${row.serverCpuSeconds} | ${row.bytesPerConnection} |`,
  );
}
if (heapPerConnection !== null) console.log(`\nidle: the server's heap after a full GC grew by ${heapPerConnection} bytes per connection (${values.subs} subscriptions each)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/fanout-${backend}-${N}.json`, JSON.stringify({ at: new Date().toISOString(), backend, N, EVENTS, RATE, DURATION_S, heapPerConnection, rows }, null, 2));
process.exit(0);
