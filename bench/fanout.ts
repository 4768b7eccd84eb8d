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
import { execSync } from 'node:child_process';
import { MeDocument } from '../test/generated/graphql.js';
import { httpData } from '../test/support/clients.js';
import { asProduction, backendEnv, startServerProcess, token } from '../test/support/server.js';
import { fetchMutations, httpMutations, wsMutations } from './lib/mutations.js';
import { userTokens, type Bench } from './fanout/bench.js';
import { chatRows } from './fanout/chat.js';
import { idleRows } from './fanout/idle.js';
import { boardRows, notificationRows } from './fanout/notifications.js';
import { orderRows } from './fanout/orders.js';
import { rawRun } from './fanout/raw.js';
import { printReport, writeResults } from './fanout/report.js';
import type { Row } from './fanout/row.js';
import { backend, HTTP_SOCKETS, N, OVER_WS, scenarios, SHARED, values } from './fanout/settings.js';

/** graphql-ws connections of this process that carry the mutations, at least, with --mutations-over ws. */
const WS_MUTATION_SOCKETS = 4;

/** Every scenario against our server, one after another; idle also measures the heap per connection. */
async function graphqlRun(bench: Bench): Promise<{ rows: Row[]; heapPerConnection: number | null }> {
  const rows = [...(await notificationRows(bench)), ...(await boardRows(bench)), ...(await orderRows(bench)), ...(await chatRows(bench))];
  const idle = await idleRows(bench);
  return { rows: [...rows, ...idle.rows], heapPerConnection: idle.heapPerConnection };
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
  asProduction({ ...env, LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_USER: String(N + 10), SHARED_EXECUTION: String(SHARED), SEND_MESSAGE_LIMIT: '1000000' }),
  [
    // The idle scenario reads the heap after a full GC, and --profile the CPU profile, through the inspector, on loopback.
    ...(scenarios.includes('idle') || values.profile ? ['--inspect=127.0.0.1:0'] : []),
  ],
  // As production runs it (see docs/deployment.md): the build, not tsx, whose keepNames gives every named closure a property table.
  { compiled: !values.tsx },
);
let rows: Row[] = [];
let heapPerConnection: number | null = null;
const mutations = OVER_WS ? wsMutations(server.url, WS_MUTATION_SOCKETS) : values['http-sender'] === 'fetch' ? fetchMutations(server.url) : httpMutations(server.url, HTTP_SOCKETS || Infinity);
try {
  const tokens = await userTokens(N);
  const admin = await token({ sub: 'bench-admin', role: 'admin' }, '2h');
  await httpData(server.url, MeDocument, {}, admin);
  const graphql = await graphqlRun({ server, pid: server.child.pid!, wsUrl: server.url.replace(/^http/, 'ws'), tokens, admin, mutations });
  heapPerConnection = graphql.heapPerConnection;
  rows = [...graphql.rows, ...(await rawRun(mutations))];
} finally {
  await mutations.close();
  await server.kill('SIGTERM');
  await cleanup();
}

printReport(rows, heapPerConnection);
writeResults(rows, heapPerConnection);
process.exit(0);
