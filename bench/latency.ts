/**
 * Latency from sending a mutation over HTTP to receiving its event over
 * graphql-ws, sequential round trips; the server runs in its own process.
 * And the `writers` scenario: throughput of concurrent plain-SQL writers.
 *
 *   npm run bench                                       every scenario, both backends, 100 samples (writers at smoke size)
 *   npm run bench -- --scenario order --backend postgres+redis --samples 300
 *   npm run bench -- --scenario writers                 1, 8, 16, 32 writers, 10 s per table and step
 *   npm run bench -- --scenario writers --writers 1,4 --seconds 1     smoke size (a few seconds)
 *   npm run bench -- --scenario writers --same-user     and a second table with every writer on one user
 *
 * Scenarios: notification (sendNotification → notificationAdded),
 * order (updateOrderStatus by the partner → the customer's orderUpdated),
 * chat (sendMessage → messageAdded at the other participant),
 * writers (no server: N connections, each its own pg.Client, doing single-row
 * autocommit inserts `insert into notifications (user_id, title) values ($1, $2)`
 * as prepared statements as fast as they can, against the same inserts into
 * notifications_plain, a copy of the table without triggers, in the same run).
 *
 * writers creates a database of its own beside TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres, the admin connection), applies
 * the server's migrations with the server's migrator (so the triggers are
 * exactly the server's), and drops it at the end. Per writer count (--writers,
 * default 1,8,16,32) each table gets --seconds (default 10) in two halves,
 * A-B-B-A, the order flipped every other step, each half from empty tables, so
 * that both see the same machine. Each writer inserts for users of its own
 * (`w<writer>-<i % 50>`) so writers touch different keys; --same-user adds a
 * second table where every writer inserts for one user (same-key writers may
 * legitimately wait for each other). It prints rows/s and per-insert latency
 * p50/p99 of both tables and the ratio of their rates (event/plain), and writes
 * bench/results/writers.json. Under `--scenario all` it runs at the smoke size
 * (1,4 writers, 1 s) unless --writers or --seconds are given.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AssignOrderDocument,
  CreateOrderDocument,
  MeDocument,
  MessageAddedDocument,
  NotificationAddedDocument,
  OpenDirectConversationDocument,
  OrderUpdatedDocument,
  SendMessageDocument,
  SendNotificationDocument,
  UpdateOrderStatusDocument,
  type OrderStatus,
} from '../test/generated/graphql.js';
import { httpData, wsConnect, type WsConnection } from '../test/support/clients.js';
import { asProduction, backendEnv, BACKENDS, POSTGRES_ADMIN_URL, startServerProcess, token, type BackendName } from '../test/support/server.js';
import { percentiles } from './lib/proc.js';
import { runWriters, writersTable, type WritersStep } from './lib/writers.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20' },
    backend: { type: 'string' },
    scenario: { type: 'string', default: 'all' },
    writers: { type: 'string' },
    seconds: { type: 'string' },
    'same-user': { type: 'boolean', default: false },
  },
});
const samples = Number(values.samples);
const warmup = Number(values.warmup);
const backends = values.backend ? [values.backend as BackendName] : BACKENDS;

/** One scenario: `prepare` returns a function that runs one round trip and resolves when its event arrived. */
interface Scenario {
  name: string;
  describe: string;
  prepare(url: string, sockets: WsConnection[]): Promise<(i: number) => Promise<number | void>>;
}

async function user(url: string, claims: Parameters<typeof token>[0]): Promise<string> {
  const jwt = await token(claims);
  await httpData(url, MeDocument, {}, jwt);
  return jwt;
}

function connect(url: string, jwt: string, sockets: WsConnection[]): WsConnection {
  const socket = wsConnect(url, { authorization: `Bearer ${jwt}` });
  sockets.push(socket);
  return socket;
}

const notification: Scenario = {
  name: 'notification',
  describe: 'sendNotification → notificationAdded',
  async prepare(url, sockets) {
    const customer = await user(url, { sub: 'bench-user', role: 'customer' });
    const admin = await user(url, { sub: 'bench-admin', role: 'admin' });
    const events = connect(url, customer, sockets).subscribe(NotificationAddedDocument, {});
    const send = (title: string) => httpData(url, SendNotificationDocument, { input: { userIds: ['bench-user'], title, body: 'latency probe' } }, admin);
    // No ack for subscriptions: warm-ups are sent until one is heard, which proves it is live.
    for (;;) {
      await send('warm-up');
      if (await events.next(1000).then(() => true, () => false)) break;
    }
    while (events.pending > 0) await events.next();
    return async (i) => {
      await send(`probe ${i}`);
      if ((await events.next(15_000)).notificationAdded.title !== `probe ${i}`) throw new Error('out of order');
    };
  },
};

const ORDER_STEPS: OrderStatus[] = ['CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY', 'DELIVERED'];

const order: Scenario = {
  name: 'order',
  describe: 'updateOrderStatus (partner) → orderUpdated (customer)',
  async prepare(url, sockets) {
    const customer = await user(url, { sub: 'bench-customer', role: 'customer' });
    const partner = await user(url, { sub: 'bench-courier', role: 'partner', partner_id: 'bench-partner' });
    const admin = await user(url, { sub: 'bench-admin', role: 'admin' });
    // The board (no orderId) follows every order of the customer, so new orders need no new subscription.
    const events = connect(url, customer, sockets).subscribe(OrderUpdatedDocument, {});
    let orderId = '';
    let step = ORDER_STEPS.length;
    const nextOrder = async () => {
      orderId = (await httpData(url, CreateOrderDocument, { input: { description: 'latency probe', totalCents: 1000 } }, customer)).createOrder.id;
      await httpData(url, AssignOrderDocument, { orderId, partnerId: 'bench-partner' }, admin);
      step = 0;
    };
    const expect = async (status: string, ms = 15_000) => {
      for (;;) {
        const event = (await events.next(ms)).orderUpdated;
        if (event.id === orderId && event.status === status) return;
      }
    };
    // No ack for subscriptions: orders are created until one is heard, which proves it is live.
    for (;;) {
      await nextOrder();
      if (await expect('PENDING', 1000).then(() => true, () => false)) break;
    }
    while (events.pending > 0) await events.next();
    return async () => {
      if (step === ORDER_STEPS.length) {
        await nextOrder();
        await expect('PENDING');
      }
      const status = ORDER_STEPS[step++]!;
      const started = performance.now();
      await httpData(url, UpdateOrderStatusDocument, { orderId, status }, partner);
      await expect(status);
      return performance.now() - started;
    };
  },
};

const chat: Scenario = {
  name: 'chat',
  describe: 'sendMessage → messageAdded at the other participant',
  async prepare(url, sockets) {
    const sender = await user(url, { sub: 'bench-sender', role: 'customer' });
    const receiver = await user(url, { sub: 'bench-receiver', role: 'customer' });
    const conversationId = (await httpData(url, OpenDirectConversationDocument, { userId: 'bench-receiver' }, sender)).openDirectConversation.id;
    const send = (body: string) => httpData(url, SendMessageDocument, { input: { conversationId, body } }, sender);
    const first = await send('warm-up');
    // Replaying from before the warm-up message proves the subscription is live.
    const events = connect(url, receiver, sockets).subscribe(MessageAddedDocument, { conversationId, since: String(BigInt(first.sendMessage.id) - 1n) });
    await events.next(15_000);
    return async (i) => {
      await send(`probe ${i}`);
      if ((await events.next(15_000)).messageAdded.body !== `probe ${i}`) throw new Error('out of order');
    };
  },
};

const scenarios = [notification, order, chat].filter((scenario) => values.scenario === 'all' || values.scenario === scenario.name);
const runWritersScenario = values.scenario === 'all' || values.scenario === 'writers';
if (scenarios.length === 0 && !runWritersScenario) throw new Error(`unknown scenario ${values.scenario} (notification, order, chat, writers or all)`);

async function measure(backend: BackendName, scenario: Scenario) {
  const { env, cleanup } = await backendEnv(backend);
  // Sequential chat round trips would trip the 30-per-10-s limit; latency, not the limiter, is measured here.
  const server = await startServerProcess(asProduction({ ...env, LOG_LEVEL: 'warn', SEND_MESSAGE_LIMIT: '1000000' }), [], { compiled: true });
  const sockets: WsConnection[] = [];
  try {
    const roundTrip = await scenario.prepare(server.url, sockets);
    const latencies: number[] = [];
    for (let i = 0; i < warmup + samples; i += 1) {
      const started = performance.now();
      // The order scenario times its own round trip (creating the next order is not part of it).
      const own = await roundTrip(i);
      const elapsed = typeof own === 'number' ? own : performance.now() - started;
      if (i >= warmup) latencies.push(elapsed);
    }
    return { backend, scenario: scenario.name, describe: scenario.describe, samples, ...percentiles(latencies) };
  } finally {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await server.kill('SIGTERM');
    await cleanup();
  }
}

async function writersScenario(): Promise<void> {
  // The full size by itself; the smoke size as part of `all` (the CI line), unless the size is given.
  const smoke = values.scenario === 'all';
  const writers = (values.writers ?? (smoke ? '1,4' : '1,8,16,32')).split(',').map(Number);
  const seconds = Number(values.seconds ?? (smoke ? '1' : '10'));
  if (writers.some((n) => !Number.isInteger(n) || n < 1) || !(seconds > 0)) throw new Error('--writers takes counts like 1,8,16,32 and --seconds a positive number');
  const sameUser = values['same-user'] ?? false;
  console.log(`\nwriters: ${writers.join(', ')} writers, ${seconds} s per table and step${sameUser ? ', distinct users then one user' : ''}`);
  const steps: WritersStep[] = await runWriters({ adminUrl: POSTGRES_ADMIN_URL, writers, seconds, sameUser, log: (line) => console.log(line) });
  const print = (keys: WritersStep['keys'], title: string) => {
    const own = steps.filter((step) => step.keys === keys);
    if (own.length === 0) return;
    const cpu = (table: 'event' | 'plain') => own.map((step) => step[table].clientCpuPercent).join('/');
    console.log(`\n${title}\n`);
    console.log(writersTable(own));
    console.log(`\nbench client CPU, % of one core, per step: event ${cpu('event')}, plain ${cpu('plain')}`);
  };
  print('distinct users', 'single-row autocommit inserts, each writer its own users: notifications (event triggers) vs. notifications_plain (no triggers)');
  print('one user', 'the same, every writer inserting for one user');
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/writers.json', JSON.stringify({ at: new Date().toISOString(), writers, seconds, steps }, null, 2));
}

if (scenarios.length > 0) {
  // The server runs as production runs it: the build (docs/deployment.md).
  execSync('npm run build --silent', { stdio: 'inherit' });
  const results = [];
  for (const scenario of scenarios) for (const backend of backends) results.push(await measure(backend, scenario));
  console.log('\nmutation (HTTP) → event (graphql-ws), sequential round trips\n');
  console.log('| scenario | backend | samples | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.describe} | ${r.backend} | ${r.samples} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.max} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latency.json', JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
}
if (runWritersScenario) await writersScenario();
process.exit(0);
