import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminBoardOnceDocument,
  AssignOrderDocument,
  LiveAdminBoardDocument,
  LiveAdminBoardSlowDocument,
  LiveAdminOrdersDocument,
  LiveOnlineDocument,
  LiveOrderDocument,
  LivePartnerBoardDocument,
  LiveUnreadDocument,
  PresenceDocument,
  UpdateOrderStatusDocument,
  type LiveAdminOrdersQuery,
} from './generated/graphql.js';
import { errorCode, httpData, httpRequest, sseConnect, wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { sample, scrape } from './support/metrics.js';
import { BACKENDS, startServerProcess, startTestServer, type TestServer } from './support/server.js';
import { createAssignedOrder, newPeople, type Person } from './support/world.js';

/** Live queries and dashboards: contract part "live". */
describe.each(BACKENDS)('live queries on %s', (backend) => {
  let t: TestServer;
  let admin: Person;
  let sockets: WsConnection[] = [];
  const people = newPeople(() => t, 'live');

  function ws(user: Person): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(connection);
    return connection;
  }

  const executions = async (fields: string) => sample(await scrape(t.url), 'realtime_live_query_executions_total', { fields });

  async function newOrder(customer: Person): Promise<string> {
    const [row] = await t.sql<{ id: string }>(`insert into orders (customer_id, description, total_cents) values ($1, 'Live', 1000) returning id::text`, [customer.id]);
    return row!.id;
  }

  const today = (board: LiveAdminOrdersQuery) => board.adminDashboard.ordersToday;

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = await people.admin();
  });

  afterEach(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    sockets = [];
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('counts users online cluster-wide, live', async () => {
    // First in this file: nobody else holds a connection, so the admin's own is the one online user.
    const board = ws(admin).subscribe(LiveOnlineDocument);
    await board.takeUntil((b) => b.adminDashboard.onlineUsers === 1);
    const start = 1;
    const customer = await people.customer();
    const socket = ws(customer);
    await socket.connected;
    await board.takeUntil((b) => b.adminDashboard.onlineUsers === start + 1);
    await socket.dispose();
    await board.takeUntil((b) => b.adminDashboard.onlineUsers === start);
  });

  it('answers a live order(id:) at once, then after every change of the order, by mutation or plain SQL', async () => {
    const customer = await people.customer();
    const partner = await people.partner({ partnerId: 'live-p1' });
    const orderId = await createAssignedOrder(t, customer, partner, admin);
    const live = ws(customer).subscribe(LiveOrderDocument, { id: orderId });
    expect((await live.next()).order).toMatchObject({ id: orderId, status: 'PENDING', partner: { id: 'live-p1' } });
    await httpData(t.url, UpdateOrderStatusDocument, { orderId, status: 'CONFIRMED' }, partner.token);
    expect((await live.next()).order?.status).toBe('CONFIRMED');
    await t.sql(`update orders set status = 'PICKED_UP' where id = $1`, [orderId]);
    expect((await live.next()).order?.status).toBe('PICKED_UP');
  });

  it('reads null once the caller may no longer see the order', async () => {
    const customer = await people.customer();
    const partner = await people.partner({ partnerId: 'live-p2' });
    const orderId = await createAssignedOrder(t, customer, partner, admin);
    const live = ws(partner).subscribe(LiveOrderDocument, { id: orderId });
    expect((await live.next()).order?.id).toBe(orderId);
    await httpData(t.url, AssignOrderDocument, { orderId, partnerId: null }, admin.token);
    expect((await live.next()).order).toBeNull();
  });

  it('executes identical live dashboards once per change for all admins, and re-executes nothing a change cannot affect', async () => {
    const admins = [admin, await people.admin(), await people.admin()];
    const customer = await people.customer();
    const unread = ws(customer).subscribe(LiveUnreadDocument);
    expect((await unread.next()).unreadNotificationCount).toBe(0);
    const boards = admins.map((who) => ws(who).subscribe(LiveAdminOrdersDocument));
    const first = await Promise.all(boards.map((board) => board.next()));
    expect(new Set(first.map((board) => JSON.stringify(board))).size).toBe(1);
    expect(first[0]!.adminDashboard.ordersByStatus.map((entry) => entry.status)).toEqual([
      'PENDING',
      'CONFIRMED',
      'PICKED_UP',
      'IN_PROGRESS',
      'READY',
      'OUT_FOR_DELIVERY',
      'DELIVERED',
      'CANCELLED',
    ]);

    // A change the dashboard cannot depend on (a notification) re-executes nothing; an unread count held live proves it arrived.
    const before = await executions('adminDashboard');
    await t.sql(`insert into notifications (user_id, title) values ($1, 'Not for the board')`, [customer.id]);
    expect((await unread.next()).unreadNotificationCount).toBe(1);
    expect(await executions('adminDashboard')).toBe(before);

    await newOrder(customer);
    const next = await Promise.all(boards.map((board) => board.next()));
    for (const board of next) expect(today(board)).toBe(today(first[0]!) + 1);
    expect(await executions('adminDashboard')).toBe(before + 1);
  });

  it('coalesces changes within the throttle window into one result, and sends nothing without a change', async () => {
    const customer = await people.customer();
    const live = ws(admin).subscribe(LiveAdminBoardSlowDocument);
    const start = (await live.next()).adminDashboard.ordersToday;
    const before = await executions('adminDashboard');
    for (let i = 0; i < 5; i += 1) await newOrder(customer);
    const results = await live.takeUntil((board) => board.adminDashboard.ordersToday === start + 5);
    // Five commits in well under the 2 s window: the first runs at once, the rest fold into one more.
    expect(results.length).toBeLessThanOrEqual(2);
    expect((await executions('adminDashboard')) - before).toBeLessThanOrEqual(2);
    expect(live.pending).toBe(0);
  });

  it('ends a dashboard the caller may not see with FORBIDDEN, and counts PARTNER figures for the caller only', async () => {
    const customer = await people.customer();
    const refused = ws(customer).subscribe(LiveAdminBoardDocument);
    const result = await refused.nextResult();
    expect(result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await refused.ended.promise;

    const partner = await people.partner({ partnerId: 'live-board' });
    const board = ws(partner).subscribe(LivePartnerBoardDocument);
    expect((await board.next()).partnerDashboard).toEqual({ activeOrders: 0, deliveredToday: 0, earningsTodayCents: 0, earningsTotalCents: 0 });
    const orderId = await createAssignedOrder(t, customer, partner, admin);
    expect((await board.next()).partnerDashboard.activeOrders).toBe(1);
    await t.sql(`update orders set status = 'CONFIRMED' where id = $1`, [orderId]);
    for (const status of ['PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY', 'DELIVERED']) await t.sql(`update orders set status = $1 where id = $2`, [status, orderId]);
    const delivered = await board.takeUntil((b) => b.partnerDashboard.deliveredToday === 1);
    // 12,000 cents less the 20 % fee.
    expect(delivered.at(-1)!.partnerDashboard).toEqual({ activeOrders: 0, deliveredToday: 1, earningsTodayCents: 9600, earningsTotalCents: 9600 });
  });

  it('answers once over plain HTTP and with @live(if: false)', async () => {
    const overHttp = await httpRequest(t.url, LiveAdminBoardDocument, {}, admin.token);
    expect(overHttp.data?.adminDashboard.ordersByStatus).toHaveLength(8);
    const once = ws(admin).subscribe(AdminBoardOnceDocument);
    expect((await once.next()).adminDashboard.ordersToday).toBeGreaterThanOrEqual(0);
    expect(await once.ended.promise).toEqual({});
    expect(errorCode(await httpRequest(t.url, LiveAdminBoardDocument, {}, null))).toBe('UNAUTHENTICATED');
  });

  it('streams over SSE (graphql-sse) like over graphql-ws', async () => {
    const customer = await people.customer();
    const orderId = await newOrder(customer);
    const client = sseConnect(t.url, customer.token);
    try {
      const live: Subscription<{ order: { status: string } | null }> = client.subscribe(LiveOrderDocument, { id: orderId });
      expect((await live.next()).order?.status).toBe('PENDING');
      // An open SSE stream keeps its user online, as an SSE subscription does.
      const online = async (wanted: boolean) => ((await httpData(t.url, PresenceDocument, { userIds: [customer.id] }, admin.token)).presence[0]?.online === wanted ? true : undefined);
      await eventually(() => online(true), 'the SSE stream to count as online');
      await t.sql(`update orders set status = 'CANCELLED' where id = $1`, [orderId]);
      expect((await live.next()).order?.status).toBe('CANCELLED');
    } finally {
      client.dispose();
    }
    await eventually(async () => ((await httpData(t.url, PresenceDocument, { userIds: [customer.id] }, admin.token)).presence[0]?.online === false ? true : undefined), 'the SSE stream to end');
  });

  it("counts as one of the connection's operations", async () => {
    const limited = await startTestServer(backend, { MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const socket = wsConnect(limited.url, { authorization: `Bearer ${admin.token}` });
    try {
      const held = [socket.subscribe(LiveAdminBoardDocument), socket.subscribe(LiveAdminBoardDocument)];
      await Promise.all(held.map((live) => live.next()));
      const third = socket.subscribe(LiveAdminBoardDocument);
      expect(JSON.stringify((await third.ended.promise).error)).toContain('RATE_LIMITED');
    } finally {
      await socket.dispose();
      await limited.stop();
    }
  });
});

/** Cluster-wide invalidation: two processes on one PostgreSQL and one Redis (the embedded backend is one process by nature). */
describe('live queries across a cluster', () => {
  let t: TestServer;
  let admin: Person;
  const people = newPeople(() => t, 'livec');

  async function newOrder(customer: Person): Promise<string> {
    const [row] = await t.sql<{ id: string }>(`insert into orders (customer_id, description, total_cents) values ($1, 'Live', 1000) returning id::text`, [customer.id]);
    return row!.id;
  }

  beforeAll(async () => {
    t = await startTestServer('postgres+redis');
    admin = await people.admin();
  });

  afterAll(async () => {
    await t?.stop();
  });

  // A change made through one process reaches the live queries held on the other.
  it('re-executes live queries on every process of the cluster', async () => {
    const other = await startServerProcess(t.env);
    const customer = await people.customer();
    const partner = await people.partner({ partnerId: 'live-cluster' });
    const socket = wsConnect(other.url, { authorization: `Bearer ${admin.token}` });
    try {
      const orderId = await createAssignedOrder(t, customer, partner, admin);
      const order = socket.subscribe(LiveOrderDocument, { id: orderId });
      const board = socket.subscribe(LiveAdminOrdersDocument);
      expect((await order.next()).order?.status).toBe('PENDING');
      const start = (await board.next()).adminDashboard.ordersToday;
      // Through the first process: a mutation, and an order created by plain SQL.
      await httpData(t.url, UpdateOrderStatusDocument, { orderId, status: 'CONFIRMED' }, partner.token);
      expect((await order.next()).order?.status).toBe('CONFIRMED');
      await newOrder(customer);
      await board.takeUntil((b) => b.adminDashboard.ordersToday === start + 1);
    } finally {
      await socket.dispose();
      await other.kill();
    }
  });

});
