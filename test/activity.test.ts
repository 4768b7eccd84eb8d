import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityAddedDocument,
  ActivityDocument,
  MarkAllReadDocument,
  SendNotificationDocument,
  UnreadCountChangedDocument,
} from './generated/graphql.js';
import { errorCode, giveSseTimeToSubscribe, httpData, httpRequest, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { newPeople, person } from './support/world.js';

describe.each(BACKENDS)('admin activity feed on %s', (backend) => {
  let t: TestServer;
  let admin: string;
  const sockets: WsConnection[] = [];
  const newCustomer = newPeople(() => t, 'act').customer;

  function ws(jwt: string): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${jwt}` });
    sockets.push(connection);
    return connection;
  }

  const send = (userId: string, title: string) =>
    httpData(t.url, SendNotificationDocument, { input: { userIds: [userId], kind: 'PAYMENT', priority: 'HIGH', title, body: '' } }, admin);

  /** The newest delivered rows, once the relay has positioned everything committed. */
  async function outboxTail(): Promise<{ id: string; topic: string; payload: unknown }[]> {
    await relayCaughtUp();
    return t.sql('select position::text as id, topic, payload from outbox where position is not null order by position desc limit 5');
  }

  /** Every committed row positioned and published; returns the newest position. */
  async function relayCaughtUp(): Promise<string> {
    return eventually(async () => {
      const [{ unpositioned, last }] = (await t.sql<{ unpositioned: number; last: string }>(
        'select count(*) filter (where position is null)::int as unpositioned, coalesce(max(position), 0)::text as last from outbox',
      )) as [{ unpositioned: number; last: string }];
      return unpositioned === 0 && BigInt(t.server.relay.lastPublishedPosition) >= BigInt(last) ? last : undefined;
    }, 'the relay to catch up');
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = (await person(t, 'act-admin', 'admin', { name: 'Ada' })).token;
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('pages the outbox newest first, with summaries, payloads and a topic filter', async () => {
    const customer = await newCustomer();
    await send(customer.id, 'one');
    await send(customer.id, 'two');
    await httpData(t.url, MarkAllReadDocument, {}, customer.token);
    const outbox = await outboxTail();

    const first = await httpData(t.url, ActivityDocument, { first: 2 }, admin);
    const firstNodes = first.activity.edges.map((edge) => edge.node);
    expect(firstNodes.map((node) => node.id)).toEqual(outbox.slice(0, 2).map((row) => row.id));
    expect(firstNodes[0]).toMatchObject({
      topic: 'notification.read',
      summary: `User ${customer.id} read 2 notifications`,
      data: outbox[0]!.payload,
    });
    expect(first.activity.pageInfo.hasNextPage).toBe(true);
    const second = await httpData(t.url, ActivityDocument, { first: 2, after: first.activity.pageInfo.endCursor }, admin);
    const secondNodes = second.activity.edges.map((edge) => edge.node);
    expect(secondNodes.map((node) => node.id)).toEqual(outbox.slice(2, 4).map((row) => row.id));
    expect(BigInt(firstNodes[1]!.id)).toBeGreaterThan(BigInt(secondNodes[0]!.id));

    const created = await httpData(t.url, ActivityDocument, { first: 2, topic: 'notification.created' }, admin);
    const createdNodes = created.activity.edges.map((edge) => edge.node);
    expect(createdNodes.map((node) => node.topic)).toEqual(['notification.created', 'notification.created']);
    const payload = createdNodes[0]!.data as { notificationId: string; userId: string };
    expect(payload.userId).toBe(customer.id);
    expect(createdNodes[0]!.summary).toBe(`Notification ${payload.notificationId} (PAYMENT, HIGH) created for user ${customer.id}`);
    expect(Number.isNaN(Date.parse(createdNodes[0]!.occurredAt))).toBe(false);

    const none = await httpData(t.url, ActivityDocument, { topic: 'no.such.topic' }, admin);
    expect(none.activity).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('streams new events live without replaying old ones, filtered by topic, over graphql-ws and SSE', async () => {
    const customer = await newCustomer();
    await send(customer.id, 'before');
    // Everything committed so far is published before we subscribe: nothing old can slip in as if new.
    await relayCaughtUp();
    const socket = ws(admin);
    await socket.connected;
    const everything = socket.subscribe(ActivityAddedDocument, {});
    const readsOnly = socket.subscribe(ActivityAddedDocument, { topic: 'notification.read' });
    const sse = sseConnect(t.url, admin);
    const overSse = sse.subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    // A state subscription answers at once: after it, the activity subscriptions on this socket are set up too.
    await socket.subscribe(UnreadCountChangedDocument).next();
    await giveSseTimeToSubscribe();

    await send(customer.id, 'after');
    await httpData(t.url, MarkAllReadDocument, {}, customer.token);
    const [created, read] = await everything.take(2);
    expect(created!.activityAdded.topic).toBe('notification.created');
    const [after] = await t.sql<{ id: string }>(`select id::text from notifications where user_id = $1 and title = 'after'`, [customer.id]);
    expect(created!.activityAdded.data).toEqual({ notificationId: after!.id, userId: customer.id, kind: 'PAYMENT', priority: 'HIGH' });
    expect(read!.activityAdded).toMatchObject({ topic: 'notification.read', summary: `User ${customer.id} read 2 notifications` });
    expect(BigInt(read!.activityAdded.id)).toBeGreaterThan(BigInt(created!.activityAdded.id));

    const [onlyRead] = await readsOnly.take(1);
    expect(onlyRead!.activityAdded.id).toBe(read!.activityAdded.id);
    const [sseCreated] = await overSse.take(1);
    expect(sseCreated!.activityAdded.id).toBe(created!.activityAdded.id);

    // A plain SQL write is an event like any other.
    await t.sql(`insert into notifications (user_id, title) values ($1, 'by hand')`, [customer.id]);
    const [manual] = await everything.take(1);
    expect(manual!.activityAdded.topic).toBe('notification.created');
    expect(readsOnly.pending).toBe(0);
    overSse.close();
    await sse.dispose();
  });

  it('is for ADMIN only: FORBIDDEN for others, UNAUTHENTICATED without a token', async () => {
    const customer = await newCustomer();
    const partner = await token({ sub: 'act-partner', role: 'partner', partner_id: 'act-partner-co' });
    expect(errorCode(await httpRequest(t.url, ActivityDocument, {}, customer.token))).toBe('FORBIDDEN');
    expect(errorCode(await httpRequest(t.url, ActivityDocument, {}, partner))).toBe('FORBIDDEN');
    expect(errorCode(await httpRequest(t.url, ActivityDocument, {}, null))).toBe('UNAUTHENTICATED');
    const socket = ws(customer.token);
    const refused = socket.subscribe(ActivityAddedDocument, {});
    const ended = await refused.ended.promise;
    expect(JSON.stringify(ended.error)).toContain('FORBIDDEN');
    // The connection stays usable.
    expect(await socket.subscribe(UnreadCountChangedDocument).next()).toEqual({ unreadCountChanged: 0 });
  });

  it('rejects bad page sizes, cursors and topics', async () => {
    for (const first of [0, 101]) expect(errorCode(await httpRequest(t.url, ActivityDocument, { first }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await httpRequest(t.url, ActivityDocument, { after: 'nope' }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await httpRequest(t.url, ActivityDocument, { topic: 'x'.repeat(101) }, admin))).toBe('BAD_USER_INPUT');
  });
});
