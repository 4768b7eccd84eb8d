import type { ChildProcess } from 'node:child_process';
import type { Bench } from './bench.js';
import { measure } from './measure.js';
import { closedLoop, paced, type Action, type KeyOf } from './pacing.js';
import { joined, type Row } from './row.js';
import { DURATION_S, IN_FLIGHT, MUTATIONS_LABEL, N, RATE, TOTAL } from './settings.js';

/**
 * A unicast scenario's rows: one mutation per event at --rate for --duration s, then, with --in-flight K,
 * the same number of events with K mutations in flight.
 */
export async function unicastRows(bench: Bench, name: string, load: ChildProcess, bytesPerConnection: number, act: Action, keyOf?: KeyOf): Promise<Row[]> {
  const run = async (scenario: string, variant: string, label: string, fire: () => Promise<void>): Promise<Row> => ({
    scenario,
    variant,
    target: 'graphql',
    connections: N,
    expected: TOTAL,
    bytesPerConnection,
    ...(await measure(load, bench.pid, bench.mutations, TOTAL, DURATION_S * 1000 + 60_000, fire, { server: bench.server, label })),
  });
  const rows = [await run(`${name} ${RATE}/s`, MUTATIONS_LABEL, name, () => paced(TOTAL, RATE, act, keyOf))];
  if (IN_FLIGHT > 0) {
    rows.push(await run(`${name} max`, joined(`(${IN_FLIGHT} in flight)`, MUTATIONS_LABEL), `${name}-max`, () => closedLoop(TOTAL, IN_FLIGHT, act, keyOf)));
  }
  return rows;
}
