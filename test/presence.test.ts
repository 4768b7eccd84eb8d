import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceChangedDocument, PresenceDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { errorCode, httpData, httpRequest, sseConnect, wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { Redis } from 'ioredis';
import { eventually } from './support/deferred.js';
import { BACKENDS, TEST_REDIS_URL, startServerProcess, startTestServer, type ServerProcess, type TestServer } from './support/server.js';
import { newPeople, type Partner, type Person } from './support/world.js';

type PresenceEvent = { user: { id: string }; online: boolean; lastSeenAt: string | null };

/** Users, orders and conversations on one server; every test makes its own. */
function fixtures(server: () => TestServer, prefix: string) {
  const sockets: WsConnection[] = [];
  return {
    sockets,
    ...newPeople(server, prefix),
    async order(customer: Person, partner: Partner): Promise<string> {
      const [row] = await server().sql<{ id: string }>(
        `insert into orders (customer_id, partner_id, description, total_cents) values ($1, $2, 'Presence test', 1000) returning id::text`,
        [customer.id, partner.partnerId],
      );
      return row!.id;
    },
    async directConversation(a: Person, b: Person): Promise<void> {
      await server().sql(`insert into conversations (kind, direct_user_low, direct_user_high) values ('DIRECT', least($1, $2), greatest($1, $2))`, [a.id, b.id]);
    },
    ws(user: Person, url = server().url): WsConnection {
      const connection = wsConnect(url, { authorization: `Bearer ${user.token}` });
      sockets.push(connection);
      return connection;
    },
    /** A customer watching the presence of their order's partner, who is offline so far. */
    async watchedPartner(): Promise<{ customer: Person; partner: Partner; watcher: Subscription<{ presenceChanged: PresenceEvent }> }> {
      const customer = await this.customer();
      const partner = await this.partner();
      await this.order(customer, partner);
      const watcher = this.ws(customer).subscribe(PresenceChangedDocument, { userIds: [partner.id] });
      expect(await nextChange(watcher)).toEqual([partner.id, false, null]);
      return { customer, partner, watcher };
    },
  };
}

/** The next presence event, as [userId, online]. */
async function nextChange(subscription: Subscription<{ presenceChanged: PresenceEvent }>, ms?: number): Promise<[string, boolean, string | null]> {
  const { presenceChanged } = await subscription.next(ms);
  return [presenceChanged.user.id, presenceChanged.online, presenceChanged.lastSeenAt];
}

describe.each(BACKENDS)('presence on %s', (backend) => {
  let t: TestServer;
  const f = fixtures(() => t, `pr-${backend === 'embedded' ? 'e' : 'r'}`);

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    await Promise.all(f.sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('answers only for users who share an order or a conversation with the caller; ADMIN sees everyone', async () => {
    const customer = await f.customer();
    const partner = await f.partner();
    const colleague = await f.partner({ partnerId: partner.partnerId });
    const stranger = await f.customer();
    const friend = await f.customer();
    const admin = await f.admin();
    const orderId = await f.order(customer, partner);
    await f.directConversation(customer, friend);

    const asked = [partner.id, colleague.id, stranger.id, friend.id, customer.id, 'nobody-at-all', admin.id];
    const seen = await httpData(t.url, PresenceDocument, { userIds: asked }, customer.token);
    expect(seen.presence.map((p) => p.user.id)).toEqual([partner.id, colleague.id, friend.id, customer.id]);
    expect(seen.presence.every((p) => p.online === false && p.lastSeenAt === null)).toBe(true);
    expect(seen.presence[0]!.user).toEqual({ id: partner.id, displayName: expect.any(String), role: 'PARTNER' });

    const partnerView = await httpData(t.url, PresenceDocument, { userIds: [customer.id, friend.id, stranger.id] }, partner.token);
    expect(partnerView.presence.map((p) => p.user.id)).toEqual([customer.id]);
    const friendView = await httpData(t.url, PresenceDocument, { userIds: [customer.id, partner.id] }, friend.token);
    expect(friendView.presence.map((p) => p.user.id)).toEqual([customer.id]);
    const strangerView = await httpData(t.url, PresenceDocument, { userIds: [customer.id, partner.id, friend.id] }, stranger.token);
    expect(strangerView.presence).toEqual([]);
    const adminView = await httpData(t.url, PresenceDocument, { userIds: [stranger.id, 'nobody-at-all', partner.id] }, admin.token);
    expect(adminView.presence.map((p) => p.user.id)).toEqual([stranger.id, partner.id]);

    // Colleagues of one partner meet in the conversation of an order assigned to it, not before.
    const ask = async (viewer: Person, ids: string[]) =>
      (await httpData(t.url, PresenceDocument, { userIds: ids }, viewer.token)).presence.map((p) => p.user.id);
    expect(await ask(partner, [colleague.id])).toEqual([]);
    const [conversation] = await t.sql<{ id: string }>(`insert into conversations (kind, order_id) values ('ORDER', $1) returning id::text`, [orderId]);
    expect(await ask(partner, [colleague.id])).toEqual([colleague.id]);
    // An admin who joined the order's conversation is a member: its customer and partner users see them.
    expect(await ask(customer, [admin.id])).toEqual([]);
    await t.sql('insert into conversation_participants (conversation_id, user_id) values ($1, $2)', [conversation!.id, admin.id]);
    expect(await ask(customer, [admin.id])).toEqual([admin.id]);
    expect(await ask(colleague, [admin.id])).toEqual([admin.id]);
    expect(await ask(stranger, [admin.id])).toEqual([]);
  });

  it('is online from the first acknowledged graphql-ws connection to the last, with events only on real changes', async () => {
    const { customer, partner, watcher } = await f.watchedPartner();

    const phone = f.ws(partner);
    await phone.connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);
    expect((await httpData(t.url, PresenceDocument, { userIds: [partner.id] }, customer.token)).presence[0]).toMatchObject({ online: true, lastSeenAt: null });

    // A second connection, then the first one closing: still online, so no event.
    const laptop = f.ws(partner);
    await laptop.connected;
    await phone.dispose();
    const before = Date.now();
    await laptop.dispose();
    const [userId, online, lastSeenAt] = await nextChange(watcher);
    expect([userId, online]).toEqual([partner.id, false]);
    expect(Date.parse(lastSeenAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(lastSeenAt!)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(watcher.pending).toBe(0);

    const after = (await httpData(t.url, PresenceDocument, { userIds: [partner.id] }, customer.token)).presence[0]!;
    expect(after).toMatchObject({ online: false, lastSeenAt });
    const [stored] = await t.sql<{ at: Date }>('select last_seen_at as at from user_presence where user_id = $1', [partner.id]);
    expect(new Date(stored!.at).toISOString()).toBe(lastSeenAt);
  });

  it('counts an open SSE stream like a connection', async () => {
    const { partner, watcher } = await f.watchedPartner();

    const sse = sseConnect(t.url, partner.token);
    const stream = sse.subscribe(UnreadCountChangedDocument);
    // The partner has one unread NEW_ORDER notification: the stream is open and answering.
    expect(await stream.next()).toEqual({ unreadCountChanged: 1 });
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);
    stream.close();
    const [, online, lastSeenAt] = await nextChange(watcher);
    expect(online).toBe(false);
    expect(lastSeenAt).not.toBeNull();
    await sse.dispose();
  });

  it('never reports users the caller may not see, and follows visibility as orders change', async () => {
    const customer = await f.customer();
    const partner = await f.partner();
    const friend = await f.customer();
    const outsider = await f.customer();
    const outsidersPartner = await f.partner();
    const orderId = await f.order(customer, partner);
    await f.directConversation(customer, friend);
    await f.order(outsider, outsidersPartner);

    const watcher = f.ws(customer).subscribe(PresenceChangedDocument, { userIds: [partner.id, friend.id] });
    expect(await watcher.take(2)).toEqual([
      { presenceChanged: expect.objectContaining({ user: expect.objectContaining({ id: partner.id }), online: false }) },
      { presenceChanged: expect.objectContaining({ user: expect.objectContaining({ id: friend.id }), online: false }) },
    ]);
    // The outsider asks about the partner too, but only ever hears about their own partner.
    const nosy = f.ws(outsider).subscribe(PresenceChangedDocument, { userIds: [partner.id, outsidersPartner.id] });
    expect(await nextChange(nosy)).toEqual([outsidersPartner.id, false, null]);

    const partnerSocket = f.ws(partner);
    await partnerSocket.connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);
    await f.ws(outsidersPartner).connected;
    expect(await nextChange(nosy)).toEqual([outsidersPartner.id, true, null]);

    // Unassigned: the customer no longer shares anything with the partner.
    await t.sql('update orders set partner_id = null where id = $1', [orderId]);
    await partnerSocket.dispose();
    await f.ws(friend).connected;
    expect(await nextChange(watcher)).toEqual([friend.id, true, null]);
    expect(watcher.pending).toBe(0);
    expect(nosy.pending).toBe(0);
  });

  it('rejects more than 100 userIds and anonymous callers', async () => {
    const customer = await f.customer();
    const ids = Array.from({ length: 101 }, (_, i) => `u${i}`);
    const result = await httpRequest(t.url, PresenceDocument, { userIds: ids }, customer.token);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!['field']).toBe('userIds');
    const refused = f.ws(customer).subscribe(PresenceChangedDocument, { userIds: ids });
    expect(JSON.stringify((await refused.ended.promise).error)).toContain('BAD_USER_INPUT');
    expect((await httpData(t.url, PresenceDocument, { userIds: ids.slice(0, 100) }, customer.token)).presence).toEqual([]);
    expect(errorCode(await httpRequest(t.url, PresenceDocument, { userIds: [customer.id] }, null))).toBe('UNAUTHENTICATED');
  });
});

describe('presence across server processes (PostgreSQL + Redis)', () => {
  const processes: ServerProcess[] = [];
  const servers: TestServer[] = [];
  const f = fixtures(() => servers[0]!, 'prc');

  afterAll(async () => {
    await Promise.all(f.sockets.map((socket) => socket.dispose()));
    await Promise.all(processes.map((child) => child.kill('SIGKILL')));
    for (const server of servers) await server.stop();
  });

  /** A test server in this process and a second server process on the same database, Redis and prefix. */
  async function cluster(presenceEnv: Record<string, string>): Promise<{ t: TestServer; other: ServerProcess }> {
    const t = await startTestServer('postgres+redis', presenceEnv);
    servers.unshift(t);
    const other = await startServerProcess({ ...t.env, ...presenceEnv });
    processes.push(other);
    return { t, other };
  }

  /** A partner online through the other process only, watched from this one by their order's customer. */
  async function onlineElsewhere(presenceEnv: Record<string, string>) {
    const { other } = await cluster(presenceEnv);
    const { partner, watcher } = await f.watchedPartner();
    await f.ws(partner, other.url).connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);
    return { other, partner, watcher };
  }

  it('keeps a user online while any process holds a connection of theirs', { timeout: 60_000 }, async () => {
    const { other } = await cluster({ PRESENCE_HEARTBEAT_MS: '200', PRESENCE_TTL_MS: '1000' });
    const { customer, partner, watcher } = await f.watchedPartner();

    const remote = f.ws(partner, other.url);
    await remote.connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);
    const local = f.ws(partner);
    await local.connected;
    await remote.dispose();
    await local.dispose();
    const [, online] = await nextChange(watcher);
    expect(online).toBe(false);
    expect(watcher.pending).toBe(0);
    // The other process agrees.
    const there = await httpData(other.url, PresenceDocument, { userIds: [partner.id] }, customer.token);
    expect(there.presence[0]!.online).toBe(false);
  });

  it('takes the users of a process that stops gracefully offline at once, not after the TTL', { timeout: 60_000 }, async () => {
    const { other, watcher } = await onlineElsewhere({});
    const stoppedAt = Date.now();
    await other.kill('SIGTERM');
    // The default TTL is 20 s; a graceful stop must not wait for it.
    const [, online] = await nextChange(watcher, 5_000);
    expect(online).toBe(false);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  });

  it('rebuilds its entries when Redis loses them, without a false offline/online flicker', { timeout: 60_000 }, async () => {
    const { t } = await cluster({ PRESENCE_HEARTBEAT_MS: '200', PRESENCE_TTL_MS: '1000' });
    const { customer, partner, watcher } = await f.watchedPartner();
    const partnerSocket = f.ws(partner);
    await partnerSocket.connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true, null]);

    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${t.env.PUBSUB_PREFIX}presence:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const online = async () => (await httpData(t.url, PresenceDocument, { userIds: [partner.id] }, customer.token)).presence[0]!.online;
    // The next heartbeat finds this process unregistered and writes back what it holds.
    await eventually(async () => ((await online()) ? true : undefined), 'presence to be rebuilt', 5_000);
    await partnerSocket.dispose();
    const [, afterward] = await nextChange(watcher);
    expect(afterward).toBe(false);
    expect(watcher.pending).toBe(0);
  });

  it("takes a killed process's users offline once its heartbeat lapses (short TTL)", { timeout: 60_000 }, async () => {
    const { other, watcher } = await onlineElsewhere({ PRESENCE_HEARTBEAT_MS: '200', PRESENCE_TTL_MS: '1000' });
    const killedAt = Date.now();
    await other.kill('SIGKILL');
    const [, online] = await nextChange(watcher, 10_000);
    const stayedOnlineMs = Date.now() - killedAt;
    console.log(`presence: a SIGKILLed process's user went offline after ${stayedOnlineMs} ms (heartbeat 200 ms, TTL 1000 ms)`);
    expect(online).toBe(false);
    // TTL plus a heartbeat of the reaper, and room for a loaded test machine.
    expect(stayedOnlineMs).toBeLessThan(1000 + 200 + 4000);
  });

  it("takes a killed process's users offline within 60 s with the default heartbeat", { timeout: 90_000 }, async () => {
    const { other, watcher } = await onlineElsewhere({});
    const killedAt = Date.now();
    await other.kill('SIGKILL');
    const [, online] = await nextChange(watcher, 60_000);
    const stayedOnlineMs = Date.now() - killedAt;
    console.log(`presence: a SIGKILLed process's user went offline after ${stayedOnlineMs} ms (defaults)`);
    expect(online).toBe(false);
    expect(stayedOnlineMs).toBeLessThan(60_000);
  });
});
