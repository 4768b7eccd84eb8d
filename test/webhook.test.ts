import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  MarkReadDocument,
  SendNotificationDocument,
  SetNotificationPreferenceDocument,
  UnreadCountChangedDocument,
} from './generated/graphql.js';
import { httpData, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { eventually, within } from './support/deferred.js';
import { BACKENDS, clusterEnv, createTestDatabase, startServerProcess, startTestServer, token, type ServerProcess, type TestServer } from './support/server.js';
import { startWebhookReceiver, verifySignature, type ReceivedWebhook, type WebhookReceiver } from './support/webhook-receiver.js';
import { newPeople } from './support/world.js';

const SECRET = 'webhook-test-secret-0123456789';
const DELAY_S = 1;
const RETRY_BASE_MS = 300;
const TIMEOUT_MS = 1000;

function webhookEnv(receiver: WebhookReceiver, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OFFLINE_WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    OFFLINE_DELAY_S: String(DELAY_S),
    WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOK_POLL_MS: '50',
    ...extra,
  };
}

interface DeliveryRow {
  state: string;
  attempts: number;
  last_error: string | null;
}

type Sql = <R>(text: string, params?: unknown[]) => Promise<R[]>;

async function deliveryOf(sql: Sql, notificationId: string): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow>('select state, attempts, last_error from webhook_deliveries where notification_id = $1', [notificationId]);
  return row;
}

/** Waits until the delivery reaches a final state, and returns it. */
function settled(sql: Sql, notificationId: string, ms = 15_000): Promise<DeliveryRow> {
  return eventually(async () => {
    const row = await deliveryOf(sql, notificationId);
    return row && row.state !== 'pending' ? row : undefined;
  }, `delivery of ${notificationId} to settle`, ms);
}

async function insertNotification(sql: Sql, userId: string, fields: { title?: string; kind?: string } = {}): Promise<string> {
  const [row] = await sql<{ id: string }>(
    `insert into notifications (user_id, kind, title, body) values ($1, $2, $3, 'body') returning id::text`,
    [userId, fields.kind ?? 'GENERAL', fields.title ?? 'Hello'],
  );
  return row!.id;
}

describe.each(BACKENDS)('offline delivery by webhook on %s', (backend) => {
  let t: TestServer;
  let receiver: WebhookReceiver;
  let admin: string;
  const sockets: WsConnection[] = [];
  const sql: Sql = (text, params) => t.sql(text, params);

  const newUser = newPeople(() => t, `wh-${backend === 'embedded' ? 'e' : 'r'}`).customer;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await startTestServer(backend, webhookEnv(receiver));
    admin = await token({ sub: 'wh-admin', role: 'admin' });
  });

  afterEach(() => {
    receiver.answer = () => 200;
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
    await receiver?.close();
  });

  it('posts an unread notification of an offline user once, after the delay, signed, with an idempotency key', async () => {
    const user = await newUser();
    await httpData(
      t.url,
      SendNotificationDocument,
      { input: { userIds: [user.id], kind: 'PAYMENT', priority: 'HIGH', title: 'Paid', body: 'Thanks', data: { orderId: '7' } } },
      admin,
    );
    const [row] = await sql<{ id: string; created_at: Date }>('select id::text, created_at from notifications where user_id = $1', [user.id]);
    const hook = await within(receiver.arrival(row!.id), 10_000, 'the webhook');
    expect(hook.body).toEqual({
      id: row!.id,
      userId: user.id,
      kind: 'PAYMENT',
      priority: 'HIGH',
      title: 'Paid',
      body: 'Thanks',
      data: { orderId: '7' },
      createdAt: new Date(row!.created_at).toISOString(),
    });
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['idempotency-key']).toBe(row!.id);
    expect(verifySignature(SECRET, hook.rawBody, hook.headers['x-signature'] as string)).toBe(true);
    expect(verifySignature('another secret', hook.rawBody, hook.headers['x-signature'] as string)).toBe(false);
    expect(hook.receivedAt - new Date(row!.created_at).getTime()).toBeGreaterThanOrEqual(DELAY_S * 1000);
    expect(await settled(sql, row!.id)).toMatchObject({ state: 'sent', attempts: 1 });

    // Once: a later notification of the same user arrives, the first one does not again.
    const later = await insertNotification(sql, user.id, { title: 'later' });
    await within(receiver.arrival(later), 10_000, 'the later webhook');
    expect(receiver.forId(row!.id)).toHaveLength(1);
  });

  it('retries non-2xx answers and timeouts with exponential backoff until one succeeds', async () => {
    const user = await newUser();
    const id = await insertNotification(sql, user.id, { title: 'flaky' });
    const plan = [500, 'hang', 503, 200] as const;
    receiver.answer = (hookId, attempt) => (hookId === id ? plan[attempt - 1] ?? 200 : 200);
    const attempts: ReceivedWebhook[] = [];
    for (let attempt = 1; attempt <= plan.length; attempt += 1) attempts.push(await within(receiver.arrival(id, attempt), 15_000, `attempt ${attempt}`));
    expect(await settled(sql, id)).toMatchObject({ state: 'sent', attempts: 4 });

    // Each retry waits the base delay, doubling; a timed-out attempt first waits out its timeout.
    const gaps = attempts.slice(1).map((hook, i) => hook.receivedAt - attempts[i]!.receivedAt);
    const waits = [RETRY_BASE_MS, TIMEOUT_MS + 2 * RETRY_BASE_MS, 4 * RETRY_BASE_MS];
    console.log(`webhook: attempts at +${attempts.map((hook) => hook.receivedAt - attempts[0]!.receivedAt).join(' ms, +')} ms; gaps ${gaps.join(', ')} ms (expected ≥ ${waits.join(', ')})`);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(waits[i]! - 20);
      expect(gap).toBeLessThan(waits[i]! + 1500);
    });
    // The same delivery every time: one idempotency key, one body, one signature.
    expect(new Set(attempts.map((hook) => hook.headers['idempotency-key']))).toEqual(new Set([id]));
    expect(new Set(attempts.map((hook) => hook.rawBody)).size).toBe(1);
    expect(new Set(attempts.map((hook) => hook.headers['x-signature'])).size).toBe(1);

    const metrics = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/realtime_webhook_deliveries_total\{outcome="retrying"\} [3-9]/);
    expect(metrics).toMatch(/realtime_webhook_deliveries_total\{outcome="sent"\} [1-9]/);
  });

  it('does not send a notification read before the delay', async () => {
    const user = await newUser();
    const read = await insertNotification(sql, user.id, { title: 'seen on the laptop' });
    await httpData(t.url, MarkReadDocument, { ids: [read] }, user.token);
    const unread = await insertNotification(sql, user.id, { title: 'not seen' });
    await within(receiver.arrival(unread), 10_000, 'the webhook of the unread one');
    expect(receiver.forId(read)).toEqual([]);
    const row = await deliveryOf(sql, read);
    // Read before the sender took it on (no row), or before it was due (skipped).
    if (row) expect(row).toMatchObject({ state: 'skipped', attempts: 0 });
  });

  it('does not send while the user has an open graphql-ws connection or SSE stream', async () => {
    const user = await newUser();
    const socket = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(socket);
    await socket.connected;
    const overWs = await insertNotification(sql, user.id, { title: 'while on ws' });
    expect(await settled(sql, overWs)).toMatchObject({ state: 'skipped', attempts: 0, last_error: 'user online' });

    const other = await newUser();
    const sse = sseConnect(t.url, other.token);
    const stream = sse.subscribe(UnreadCountChangedDocument);
    expect(await stream.next()).toEqual({ unreadCountChanged: 0 });
    const overSse = await insertNotification(sql, other.id, { title: 'while on sse' });
    expect(await settled(sql, overSse)).toMatchObject({ state: 'skipped', last_error: 'user online' });
    stream.close();
    await sse.dispose();
    await socket.dispose();

    expect(receiver.forId(overWs)).toEqual([]);
    expect(receiver.forId(overSse)).toEqual([]);
    // Gone offline: the next one is sent.
    const afterwards = await insertNotification(sql, user.id, { title: 'after leaving' });
    await within(receiver.arrival(afterwards), 10_000, 'the webhook after leaving');
  });

  it('never sends kinds whose offline preference is off', async () => {
    const user = await newUser();
    await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'SYSTEM', offline: false }, user.token);
    const muted = await insertNotification(sql, user.id, { kind: 'SYSTEM', title: 'muted' });
    const wanted = await insertNotification(sql, user.id, { kind: 'GENERAL', title: 'wanted' });
    await within(receiver.arrival(wanted), 10_000, 'the wanted webhook');
    expect(await settled(sql, muted)).toMatchObject({ state: 'skipped', attempts: 0 });
    expect(receiver.forId(muted)).toEqual([]);
  });

  it('gives up once the notification is older than the give-up age', async () => {
    const quitter = await startWebhookReceiver();
    const short = await startTestServer(backend, webhookEnv(quitter, { WEBHOOK_GIVE_UP_S: '3' }));
    try {
      quitter.answer = () => 500;
      const id = await insertNotification((text, params) => short.sql(text, params), 'wh-give-up');
      const row = await settled((text, params) => short.sql(text, params), id, 20_000);
      expect(row.state).toBe('failed');
      expect(row.last_error).toBe('HTTP 500');
      // Attempts at about 1, 1.3 and 1.9 s: the next one (3.1 s) would be past the 3 s give-up age.
      expect(row.attempts).toBe(quitter.forId(id).length);
      expect(row.attempts).toBeGreaterThanOrEqual(2);
      expect(row.attempts).toBeLessThanOrEqual(4);
    } finally {
      await short.stop();
      await quitter.close();
    }
  });
});

describe('offline delivery by webhook in a cluster (PostgreSQL + Redis, several processes)', () => {
  const processes: ServerProcess[] = [];
  let receiver: WebhookReceiver;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  const sql: Sql = async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[];
  let baseEnv: Record<string, string>;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    database = await createTestDatabase();
    baseEnv = { ...clusterEnv(database.url), LOG_LEVEL: 'silent', ...webhookEnv(receiver) };
  });

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.kill('SIGKILL')));
    await client?.end();
    await database?.drop();
    await receiver?.close();
  });

  async function start(extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
    const child = await startServerProcess({ ...baseEnv, ...extraEnv });
    processes.push(child);
    if (!client) {
      client = new pg.Client({ connectionString: database.url });
      await client.connect();
    }
    return child;
  }

  it('sends each delivery exactly once with three processes claiming at the same time', { timeout: 60_000 }, async () => {
    // The default 10 s timeout: a loaded test machine must not turn a slow answer into a (legitimate) retry.
    const patient = { WEBHOOK_TIMEOUT_MS: '10000' };
    await Promise.all([start(patient), start(patient), start(patient)]);
    receiver.answer = () => ({ status: 200, afterMs: 20 });
    const count = 300;
    const rows = await sql<{ id: string }>(
      `insert into notifications (user_id, title) select 'wh-crowd-' || n, 'crowd ' || n from generate_series(1, ${count}) as n returning id::text`,
    );
    await eventually(async () => {
      const [row] = await sql<{ done: number }>(`select count(*)::int as done from webhook_deliveries where state = 'sent' and notification_id = any($1::bigint[])`, [rows.map((r) => r.id)]);
      return row!.done === count ? true : undefined;
    }, 'every delivery to be sent', 45_000);
    const ids = rows.map((row) => row.id);
    const attempts = await sql<{ attempts: number; count: number }>(
      'select attempts, count(*)::int as count from webhook_deliveries where notification_id = any($1::bigint[]) group by attempts',
      [ids],
    );
    expect(attempts).toEqual([{ attempts: 1, count }]);
    const hooks = receiver.received.filter((hook) => ids.includes(hook.body.id));
    expect(hooks).toHaveLength(count);
    expect(new Set(hooks.map((hook) => hook.body.id)).size).toBe(count);
    for (const child of processes) await child.kill('SIGTERM');
  });

  it('resumes retries after a restart: the state is in PostgreSQL', { timeout: 60_000 }, async () => {
    const first = await start();
    const id = await insertNotification(sql, 'wh-restart', { title: 'survives' });
    receiver.answer = (hookId, attempt) => (hookId === id && attempt === 1 ? 500 : 200);
    await within(receiver.arrival(id, 1), 15_000, 'the first attempt');
    await eventually(async () => ((await deliveryOf(sql, id))?.attempts === 1 ? true : undefined), 'the failure to be recorded');
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    await start();
    const retry = await within(receiver.arrival(id, 2), 20_000, 'the retry after the restart');
    console.log(`webhook: retried ${retry.receivedAt - killedAt} ms after the first process was killed`);
    expect(retry.headers['idempotency-key']).toBe(id);
    expect(await settled(sql, id)).toMatchObject({ state: 'sent', attempts: 2 });
    for (const child of processes) await child.kill('SIGTERM');
  });

  it('takes over a delivery whose process died in the middle of an attempt, once its lease lapses', { timeout: 60_000 }, async () => {
    const first = await start();
    const id = await insertNotification(sql, 'wh-crash', { title: 'mid-flight' });
    receiver.answer = (hookId, attempt) => (hookId === id && attempt === 1 ? 'hang' : 200);
    await within(receiver.arrival(id, 1), 15_000, 'the first attempt');
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    await start();
    const retry = await within(receiver.arrival(id, 2), 30_000, 'the attempt of the second process');
    console.log(`webhook: a delivery in flight in a killed process was retried after ${retry.receivedAt - killedAt} ms`);
    expect(await settled(sql, id)).toMatchObject({ state: 'sent' });
    expect(receiver.forId(id)).toHaveLength(2);
  });
});
