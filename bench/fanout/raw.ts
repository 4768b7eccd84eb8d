import type { Mutations } from '../lib/mutations.js';
import { processUsage } from '../lib/proc.js';
import { idleRow } from './idle.js';
import { ask, child, connectLoad } from './load.js';
import { measure } from './measure.js';
import { paced } from './pacing.js';
import type { Row } from './row.js';
import { CLOSED_LOOP, DURATION_S, EVENT_RATE, EVENTS, IN_FLIGHT, N, RATE, scenarios, TOTAL, UNICAST } from './settings.js';

/** The same workloads on a raw `ws` server sending pre-serialized frames; `mutations` only for the sender's counts of each phase. */
export async function rawRun(mutations: Mutations): Promise<Row[]> {
  const raw = child('../lib/raw-server.ts');
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
    ...(await measure(load, pid, mutations, expected, timeoutMs, fire)),
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
