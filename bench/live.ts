/**
 * Live queries under load: `--admins` admins hold the same live
 * `adminDashboard`, `--customers` customers each hold a live `order(id:)` of
 * their own, while orders change at `--rate` per second for `--duration`
 * seconds (plain SQL, as any writer: half of the changes create an order,
 * which moves the dashboard's ordersToday; half move a watched order's
 * location). Prints re-executions per second (per root field), results sent
 * per second, commit → result latency of both kinds and the server's CPU.
 *
 *   npm run bench:live                                   1,000 + 1,000 at 200/s for 10 s (PostgreSQL + Redis, production build)
 *   npm run bench:live -- --admins 100 --customers 100 --rate 50 --duration 3
 */
import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import { WebSocket } from 'ws';
import { MeDocument } from '../test/generated/graphql.js';
import { httpData } from '../test/support/clients.js';
import { deferred } from '../test/support/deferred.js';
import { sample, scrape } from '../test/support/metrics.js';
import { asProduction, backendEnv, startServerProcess, token } from '../test/support/server.js';
import { percentiles, processUsage } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    admins: { type: 'string', default: '1000' },
    customers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    throttle: { type: 'string', default: '250' },
  },
});
const ADMINS = Number(values.admins);
const CUSTOMERS = Number(values.customers);
const RATE = Number(values.rate);
const DURATION_S = Number(values.duration);

const BOARD = `query Board @live { adminDashboard { ordersToday ordersByStatus { status count } activePartners revenueTodayCents } }`;
const TRACK = `query Track($id: ID!) @live { order(id: $id) { id status lastLocation { latitude } } }`;

type Result = { data?: { adminDashboard?: { ordersToday: number }; order?: { lastLocation: { latitude: number } | null } | null } };

async function main(): Promise<void> {
  execSync('npm run build --silent', { stdio: 'inherit' });
  const { env, cleanup } = await backendEnv('postgres+redis');
  const server = await startServerProcess(asProduction({ ...env, LIVE_THROTTLE_MIN_MS: values.throttle!, MAX_CONNECTIONS_PER_USER: '100000' }), [], { compiled: true });
  const db = new pg.Pool({ connectionString: env['DATABASE_URL'], max: 4 });
  const clients: Client[] = [];
  try {
    const adminToken = await token({ sub: 'bench-live-admin', role: 'admin' }, '2h');
    await httpData(server.url, MeDocument, {}, adminToken);
    const customers = await Promise.all(Array.from({ length: CUSTOMERS }, (_, i) => token({ sub: `bench-live-c${i}`, role: 'customer' }, '2h')));
    const orders = (
      await db.query<{ id: string }>(
        `insert into orders (customer_id, description, total_cents) select 'bench-live-c' || g, 'bench', 1000 from generate_series(0, $1 - 1) g order by g returning id::text`,
        [CUSTOMERS],
      )
    ).rows.map((row) => row.id);
    for (let i = 0; i < CUSTOMERS; i += 50) await Promise.all(customers.slice(i, i + 50).map((jwt) => httpData(server.url, MeDocument, {}, jwt)));

    const connect = (jwt: string) => {
      const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${jwt}` }, retryAttempts: 0, lazy: false });
      clients.push(client);
      return client;
    };
    // Commit times: of the k-th new order (the dashboard shows k more), and of each order's latest location (its latitude names it).
    const insertedAt: number[] = [];
    const movedAt = new Map<number, number>();
    const boardLatency: number[] = [];
    const orderLatency: number[] = [];
    let baseline = -1;
    let firstResults = 0;
    const allFirst = deferred();
    const arrived = () => {
      firstResults += 1;
      if (firstResults === ADMINS + CUSTOMERS) allFirst.resolve();
    };
    const onBoard = (result: Result) => {
      const today = result.data?.adminDashboard?.ordersToday;
      if (today === undefined) return;
      if (baseline < 0) baseline = today;
      const k = today - baseline;
      if (k > 0 && insertedAt[k - 1] !== undefined) boardLatency.push(Date.now() - insertedAt[k - 1]!);
    };
    const onOrder = (result: Result) => {
      const latitude = result.data?.order?.lastLocation?.latitude;
      const at = latitude === undefined ? undefined : movedAt.get(Math.round(latitude * 1e6));
      if (at !== undefined) orderLatency.push(Date.now() - at);
    };
    const hold = (client: Client, query: string, variables: Record<string, unknown>, onResult: (result: Result) => void) => {
      let first = true;
      client.subscribe<Result['data']>({ query, variables }, {
        next: (result) => {
          if (first) {
            first = false;
            arrived();
          }
          onResult(result as Result);
        },
        error: (error) => console.error('live query failed', error),
        complete: () => {},
      });
    };
    for (let i = 0; i < ADMINS; i += 1) hold(connect(adminToken), BOARD, {}, onBoard);
    for (let i = 0; i < CUSTOMERS; i += 1) hold(connect(customers[i]!), TRACK, { id: orders[i] }, onOrder);
    await allFirst.promise;

    const before = await scrape(server.url);
    const cpuBefore = processUsage(server.child.pid!).cpuSeconds;
    const startedAt = Date.now();
    let sent = 0;
    let sequence = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.floor(((Date.now() - startedAt) / 1000) * RATE);
        while (sent < due && sent < RATE * DURATION_S) {
          sent += 1;
          if (sent % 2 === 0) {
            void db.query(`insert into orders (customer_id, description, total_cents) values ('bench-live-new', 'new', 500)`).then(() => insertedAt.push(Date.now()));
          } else {
            const seq = ++sequence;
            const orderId = orders[seq % CUSTOMERS]!;
            void db
              .query(`update orders set last_latitude = $1, last_longitude = 0, last_location_at = now() where id = $2`, [seq / 1e6, orderId])
              .then(() => movedAt.set(seq, Date.now()));
          }
        }
        if (sent >= RATE * DURATION_S) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    // Let the last changes arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const elapsedS = (Date.now() - startedAt) / 1000;
    const after = await scrape(server.url);
    const cpu = processUsage(server.child.pid!).cpuSeconds - cpuBefore;
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    const board = percentiles(boardLatency);
    const tracked = percentiles(orderLatency);
    console.log(`\nLive queries, PostgreSQL + Redis: ${ADMINS} admins on one live adminDashboard, ${CUSTOMERS} customers each on a live order(id:), ${RATE} changes/s for ${DURATION_S} s (throttle ${values.throttle} ms)\n`);
    console.log('| measure | value |\n| --- | --- |');
    console.log(`| dashboard re-executions/s (one group for all ${ADMINS} admins) | ${(delta('realtime_live_query_executions_total', { fields: 'adminDashboard' }) / elapsedS).toFixed(1)} |`);
    console.log(`| order(id:) re-executions/s | ${(delta('realtime_live_query_executions_total', { fields: 'order' }) / elapsedS).toFixed(1)} |`);
    console.log(`| results sent/s | ${(delta('realtime_live_query_results_total') / elapsedS).toFixed(0)} |`);
    console.log(`| dashboard: commit → result p50 / p99 ms (${boardLatency.length} results) | ${board.p50} / ${board.p99} |`);
    console.log(`| order: commit → result p50 / p99 ms (${orderLatency.length} results) | ${tracked.p50} / ${tracked.p99} |`);
    console.log(`| server CPU | ${((cpu / elapsedS) * 100).toFixed(0)} % of a core |`);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await db.end();
    await server.kill();
    await cleanup();
  }
}

await main();
