/** The scenarios of sendNotification: broadcast, per-user, per-user-batched, and board (its activityAdded). */
import type { ChildProcess } from 'node:child_process';
import { SendNotificationDocument } from '../../test/generated/graphql.js';
import { userTokens, type Bench } from './bench.js';
import { connectLoad } from './load.js';
import { measure } from './measure.js';
import { paced } from './pacing.js';
import type { Row } from './row.js';
import { DURATION_S, EVENT_RATE, EVENTS, MUTATIONS_LABEL, N, RATE, scenarios, TOTAL } from './settings.js';
import { ACTIVITY_ADDED, NOTIFICATION_ADDED } from './subscriptions.js';
import { unicastRows } from './unicast.js';

/** per-user-batched's write rate: faster event rates name several users per sendNotification. */
const MUTATIONS_PER_SECOND = 100;

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
    bench.mutations,
    TOTAL,
    DURATION_S * 1000 + 60_000,
    () => paced(mutations, RATE / perMutation, (m) => notify(bench, recipients(m))),
    { server: bench.server, label: 'per-user-batched' },
    perMutation,
  );
  return { scenario: `per-user-batched ${RATE}/s`, variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: TOTAL, bytesPerConnection, ...result };
}

/** broadcast, per-user and per-user-batched: the N customers watch notificationAdded. */
export async function notificationRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.some((name) => name === 'broadcast' || name.startsWith('per-user'))) return [];
  const rows: Row[] = [];
  await bench.mutations.open([bench.admin]);
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', bench.tokens, [NOTIFICATION_ADDED], bench.pid);
  // Every connection's subscription is live once a probe broadcast reaches all of them.
  await measure(load, bench.pid, bench.mutations, N, 60_000, async () => void (await notify(bench, null)));
  if (scenarios.includes('broadcast')) {
    const result = await measure(load, bench.pid, bench.mutations, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => notify(bench, null)), { server: bench.server, label: 'broadcast' }, N);
    rows.push({ scenario: 'broadcast', variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result });
  }
  for (const name of scenarios.filter((scenario) => scenario === 'per-user' || scenario === 'per-user-batched')) {
    if (name === 'per-user') rows.push(...(await unicastRows(bench, name, load, bytesPerConnection, (i) => notify(bench, [`bench-u${i % N}`]))));
    else rows.push(await perUserBatchedRow(bench, load, bytesPerConnection));
  }
  load.send({ kind: 'close' });
  return rows;
}

/** board: N admins watch activityAdded, the same event for all of them. */
export async function boardRows(bench: Bench): Promise<Row[]> {
  if (!scenarios.includes('board')) return [];
  await bench.mutations.open([bench.admin]);
  const admins = await userTokens(N, 'admin');
  const { load, bytesPerConnection } = await connectLoad(bench.wsUrl, 'graphql', admins, [ACTIVITY_ADDED], bench.pid);
  await measure(load, bench.pid, bench.mutations, N, 60_000, async () => void (await notify(bench, ['bench-u0'])));
  const result = await measure(load, bench.pid, bench.mutations, N * EVENTS, 120_000, () => paced(EVENTS, EVENT_RATE, () => notify(bench, ['bench-u0'])), { server: bench.server, label: 'board' }, N);
  load.send({ kind: 'close' });
  return [{ scenario: 'board', variant: MUTATIONS_LABEL, target: 'graphql', connections: N, expected: N * EVENTS, bytesPerConnection, ...result }];
}
