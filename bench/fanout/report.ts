/** The two tables, the failed mutations and the idle heap on stdout, and the results file: bench/results/fanout-<backend>-<N>.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { label, type Row } from './row.js';
import { backend, DURATION_S, EVENT_RATE, EVENTS, HTTP_SOCKETS, IN_FLIGHT, N, OVER_WS, RATE, SHARED, UNICAST, values } from './settings.js';

/** Distinct errors of failed mutations printed after the table, the most frequent first. */
const FAILURE_KINDS_SHOWN = 5;

const httpSenderNote = values['http-sender'] === 'fetch' ? 'fetch' : `node:http, ${HTTP_SOCKETS ? `at most ${HTTP_SOCKETS}` : 'unlimited'} connections`;

/** The server's CPU per event (ms) of a unicast row: each of its deliveries is one event. */
function cpuPerEvent(row: Row): string {
  const unicast = UNICAST.some((name) => row.scenario.startsWith(`${name} `));
  return unicast && row.deliveries ? ((row.serverCpuSeconds * 1000) / row.deliveries).toFixed(3) : '';
}

const failedActions = (rows: Row[]) => rows.reduce((sum, row) => sum + row.failed, 0);

/** The run's settings, then per row what was delivered, how fast and how late, and the server's cost. */
function printDeliveries(rows: Row[]): void {
  const rawByScenario = new Map(rows.filter((row) => row.target === 'raw ws').map((row) => [row.scenario, row]));
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
}

/** Per measured row: the CPU of each process, how the sender kept its schedule, and the TCP trouble. */
function printLoad(rows: Row[]): void {
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
}

/** The failed mutations grouped by error, the most frequent first. */
function printFailures(rows: Row[]): void {
  const failed = failedActions(rows);
  if (failed === 0) return;
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
  console.log(`\n${failed} mutations of the measured phases failed, ${groups.length} distinct error${groups.length === 1 ? '' : 's'}${groups.length > FAILURE_KINDS_SHOWN ? `, the ${FAILURE_KINDS_SHOWN} most frequent` : ''}:`);
  for (const [kind, group] of groups.slice(0, FAILURE_KINDS_SHOWN)) console.log(`- ${group.count}× ${kind} (${group.rows.join('; ')})`);
}

/** Everything the run prints after it: both tables, the failures, the idle heap per connection. */
export function printReport(rows: Row[], heapPerConnection: number | null): void {
  printDeliveries(rows);
  printLoad(rows);
  printFailures(rows);
  if (heapPerConnection !== null) console.log(`\nidle: the server's heap after a full GC grew by ${heapPerConnection} bytes per connection (${values.subs} subscriptions each)`);
}

/** The run's settings and rows, as bench/results/fanout-<backend>-<N>.json. */
export function writeResults(rows: Row[], heapPerConnection: number | null): void {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    `bench/results/fanout-${backend}-${N}.json`,
    JSON.stringify(
      { at: new Date().toISOString(), backend, N, EVENTS, EVENT_RATE, RATE, DURATION_S, IN_FLIGHT, mutationsOver: values['mutations-over'], httpSender: values['http-sender'], HTTP_SOCKETS, SHARED, failedActions: failedActions(rows), heapPerConnection, rows },
      null,
      2,
    ),
  );
}
