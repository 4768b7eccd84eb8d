import { heapUsedAfterGc, inspectorUrlIn, writeHeapSnapshot } from '../lib/inspector.js';
import { percentiles, processUsage } from '../lib/proc.js';
import type { Bench } from './bench.js';
import { connectLoad } from './load.js';
import type { Row } from './row.js';
import { N, scenarios, values } from './settings.js';
import { NOTIFICATION_ADDED, ORDER_UPDATED, UNREAD_COUNT } from './subscriptions.js';

/** idle: N connections × --subs subscriptions, and the heap (after a full GC) the server keeps per connection; null without the scenario. */
export async function idleRows(bench: Bench): Promise<{ rows: Row[]; heapPerConnection: number | null }> {
  if (!scenarios.includes('idle')) return { rows: [], heapPerConnection: null };
  const subscriptions = [NOTIFICATION_ADDED, UNREAD_COUNT, ORDER_UPDATED].slice(0, Number(values.subs));
  const inspector = inspectorUrlIn(bench.server.output());
  const heapBefore = await heapUsedAfterGc(inspector);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, subscriptions, bench.pid);
  const heapPerConnection = Math.round((await heapUsedAfterGc(inspector) - heapBefore) / N);
  if (values['heap-snapshot']) await writeHeapSnapshot(inspector, values['heap-snapshot']);
  const usage = processUsage(bench.pid);
  load.send({ kind: 'close' });
  return { rows: [idleRow('graphql', usage.rssBytes, bytesPerConnection)], heapPerConnection };
}

/** An idle row: nothing is delivered, only memory is measured. */
export function idleRow(target: Row['target'], rssBytes: number, bytesPerConnection: number): Row {
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
