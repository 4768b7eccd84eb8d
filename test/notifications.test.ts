import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MarkAllReadDocument,
  MarkReadDocument,
  MeDocument,
  NotificationAddedDocument,
  NotificationsDocument,
  SendNotificationDocument,
  UnreadCountChangedDocument,
  UnreadNotificationCountDocument,
} from './generated/graphql.js';
import { errorCode, giveSseTimeToSubscribe, httpData, httpRequest, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { pruneOutbox } from '../src/db/outbox.js';
import { eventually } from './support/deferred.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { newPeople } from './support/world.js';

describe.each(BACKENDS)('notifications on %s', (backend) => {
  let t: TestServer;
  let admin: string;
  const sockets: WsConnection[] = [];
  const newCustomer = newPeople(() => t, 'n').customer;

  function ws(jwt: string | null, params?: Record<string, unknown>): WsConnection {
    const connection = wsConnect(t.url, params ?? (jwt ? { authorization: `Bearer ${jwt}` } : null));
    sockets.push(connection);
    return connection;
  }

  async function send(userIds: string[] | null, title = 'Hello', body = 'There') {
    return httpData(t.url, SendNotificationDocument, { input: { ...(userIds ? { userIds } : {}), title, body } }, admin);
  }

  async function notificationCount(userId: string): Promise<number> {
    const [row] = await t.sql<{ count: number }>('select count(*)::int as count from notifications where user_id = $1', [userId]);
    return row!.count;
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = await token({ sub: 'admin-1', role: 'admin', name: 'Ada Admin' });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('provisions the caller from the token claims', async () => {
    const partner = await token({ sub: 'p-user-1', role: 'partner', name: 'Pat', partner_id: 'partner-1', partner_name: 'Pat Plumbing' });
    const data = await httpData(t.url, MeDocument, {}, partner);
    expect(data.me).toEqual({ id: 'p-user-1', displayName: 'Pat', role: 'PARTNER', partner: { id: 'partner-1', businessName: 'Pat Plumbing' } });
    const renamed = await token({ sub: 'p-user-1', role: 'partner', name: 'Patricia', partner_id: 'partner-1', partner_name: 'Pat & Co' });
    const again = await httpData(t.url, MeDocument, {}, renamed);
    expect(again.me.displayName).toBe('Patricia');
    expect(again.me.partner?.businessName).toBe('Pat & Co');
  });

  it('delivers a sent notification over graphql-ws and over SSE', async () => {
    const customer = await newCustomer();
    const socket = ws(customer.token);
    await socket.connected;
    const overWs = socket.subscribe(NotificationAddedDocument, {});
    const sse = sseConnect(t.url, customer.token);
    const overSse = sse.subscribe(NotificationAddedDocument, {});
    // The count subscription answers at once, which tells us the connection is subscribed.
    const counts = socket.subscribe(UnreadCountChangedDocument);
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });
    await giveSseTimeToSubscribe();
    expect(await send([customer.id], 'Your order', 'is on its way')).toEqual({ sendNotification: 1 });
    const [wsEvent] = await overWs.take(1);
    const [sseEvent] = await overSse.take(1);
    expect(wsEvent!.notificationAdded).toMatchObject({ title: 'Your order', body: 'is on its way', kind: 'GENERAL', priority: 'NORMAL', read: false, readAt: null });
    expect(sseEvent!.notificationAdded.id).toBe(wsEvent!.notificationAdded.id);
    expect(await counts.next()).toEqual({ unreadCountChanged: 1 });
    overSse.close();
    sse.dispose();
  });

  it('broadcasts to every known user when userIds is omitted', async () => {
    const a = await newCustomer();
    const b = await newCustomer();
    const [{ users }] = (await t.sql<{ users: number }>('select count(*)::int as users from users')) as [{ users: number }];
    const created = await send(null, 'Maintenance', 'tonight');
    expect(created.sendNotification).toBe(users);
    for (const user of [a, b]) {
      const page = await httpData(t.url, NotificationsDocument, { first: 1 }, user.token);
      expect(page.notifications.edges[0]!.node.title).toBe('Maintenance');
    }
  });

  it('pages newest first with cursors and filters unread', async () => {
    const customer = await newCustomer();
    for (const title of ['one', 'two', 'three', 'four', 'five']) await send([customer.id], title);
    const first = await httpData(t.url, NotificationsDocument, { first: 2 }, customer.token);
    expect(first.notifications.edges.map((edge) => edge.node.title)).toEqual(['five', 'four']);
    expect(first.notifications.pageInfo.hasNextPage).toBe(true);
    const second = await httpData(t.url, NotificationsDocument, { first: 10, after: first.notifications.pageInfo.endCursor }, customer.token);
    expect(second.notifications.edges.map((edge) => edge.node.title)).toEqual(['three', 'two', 'one']);
    expect(second.notifications.pageInfo.hasNextPage).toBe(false);
    const threeId = second.notifications.edges[0]!.node.id;
    await httpData(t.url, MarkReadDocument, { ids: [threeId] }, customer.token);
    const unread = await httpData(t.url, NotificationsDocument, { unreadOnly: true }, customer.token);
    expect(unread.notifications.edges.map((edge) => edge.node.title)).toEqual(['five', 'four', 'two', 'one']);
  });

  it('marks own notifications read, reports the count, and marks all read', async () => {
    const customer = await newCustomer();
    await send([customer.id], 'a');
    await send([customer.id], 'b');
    await send([customer.id], 'c');
    const page = await httpData(t.url, NotificationsDocument, {}, customer.token);
    const [c, b] = page.notifications.edges.map((edge) => edge.node.id);
    const marked = await httpData(t.url, MarkReadDocument, { ids: [c!, b!, c!] }, customer.token);
    expect(marked.markRead.unreadCount).toBe(1);
    expect(marked.markRead.notifications.map((n) => [n.id, n.read])).toEqual([
      [c, true],
      [b, true],
    ]);
    expect(marked.markRead.notifications[0]!.readAt).not.toBeNull();
    const all = await httpData(t.url, MarkAllReadDocument, {}, customer.token);
    expect(all.markAllRead.unreadCount).toBe(0);
    expect(all.markAllRead.notifications).toHaveLength(1);
    expect((await httpData(t.url, UnreadNotificationCountDocument, {}, customer.token)).unreadNotificationCount).toBe(0);
  });

  it('streams the unread count: current value first, then changes from another device', async () => {
    const customer = await newCustomer();
    await send([customer.id], 'x');
    await send([customer.id], 'y');
    const phone = ws(customer.token);
    const counts = phone.subscribe(UnreadCountChangedDocument);
    expect(await counts.next()).toEqual({ unreadCountChanged: 2 });
    await send([customer.id], 'z');
    expect(await counts.next()).toEqual({ unreadCountChanged: 3 });
    // The laptop marks everything read over HTTP; the phone hears it.
    await httpData(t.url, MarkAllReadDocument, {}, customer.token);
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });
  });

  it('replays after `since`, then goes live, with no gap and no duplicate while writes race the replay', async () => {
    const customer = await newCustomer();
    for (let i = 1; i <= 5; i += 1) await send([customer.id], `before ${i}`);
    const page = await httpData(t.url, NotificationsDocument, { first: 5 }, customer.token);
    const since = page.notifications.edges[3]!.node.id; // "before 2"
    const socket = ws(customer.token);
    await socket.connected;
    const racing = Promise.all(Array.from({ length: 10 }, (_, i) => send([customer.id], `during ${i}`)));
    const stream = socket.subscribe(NotificationAddedDocument, { since });
    await racing;
    await send([customer.id], 'after');
    const events = (await stream.takeUntil((event) => event.notificationAdded.title === 'after')).map((event) => event.notificationAdded);
    const titles = events.map((event) => event.title);
    const ids = events.map((event) => event.id);
    expect(titles.slice(0, 3)).toEqual(['before 3', 'before 4', 'before 5']);
    expect(titles.filter((title) => title.startsWith('during')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `during ${i}`).sort());
    expect(titles).toHaveLength(14);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((x, y) => (x < y ? -1 : 1)));
  });

  it('turns a plain SQL insert into the same events as a mutation', async () => {
    const customer = await newCustomer();
    const socket = ws(customer.token);
    const counts = socket.subscribe(UnreadCountChangedDocument);
    const added = socket.subscribe(NotificationAddedDocument, {});
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });
    await t.sql(`insert into notifications (user_id, title, body, kind, priority, data) values ($1, 'From SQL', 'psql was here', 'SYSTEM', 'HIGH', '{"source":"psql"}')`, [customer.id]);
    const [event] = await added.take(1);
    expect(event!.notificationAdded).toMatchObject({ title: 'From SQL', kind: 'SYSTEM', priority: 'HIGH', data: { source: 'psql' } });
    expect(await counts.next()).toEqual({ unreadCountChanged: 1 });
    await t.sql('update notifications set read_at = now() where user_id = $1', [customer.id]);
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });
  });

  describe('bad input gets its contract error and changes nothing', () => {
    it("refuses another user's ids in markRead as NOT_FOUND", async () => {
      const owner = await newCustomer();
      const intruder = await newCustomer();
      await send([owner.id], 'private');
      await send([intruder.id], 'mine');
      const ownerId = (await httpData(t.url, NotificationsDocument, {}, owner.token)).notifications.edges[0]!.node.id;
      const intruderId = (await httpData(t.url, NotificationsDocument, {}, intruder.token)).notifications.edges[0]!.node.id;
      const result = await httpRequest(t.url, MarkReadDocument, { ids: [intruderId, ownerId] }, intruder.token);
      expect(errorCode(result)).toBe('NOT_FOUND');
      const [row] = await t.sql<{ unread: number }>('select count(*)::int as unread from notifications where id in ($1, $2) and read_at is null', [ownerId, intruderId]);
      expect(row!.unread).toBe(2);
    });

    it('rejects malformed and too many ids as BAD_USER_INPUT', async () => {
      const customer = await newCustomer();
      expect(errorCode(await httpRequest(t.url, MarkReadDocument, { ids: ['abc'] }, customer.token))).toBe('BAD_USER_INPUT');
      const many = Array.from({ length: 501 }, (_, i) => String(i + 1));
      const result = await httpRequest(t.url, MarkReadDocument, { ids: many }, customer.token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!['field']).toBe('ids');
    });

    it('rejects oversize and empty titles and bodies', async () => {
      const customer = await newCustomer();
      const cases = [
        { title: 'x'.repeat(201), body: 'ok', field: 'input.title' },
        { title: '   ', body: 'ok', field: 'input.title' },
        { title: 'ok', body: 'y'.repeat(4001), field: 'input.body' },
      ];
      for (const { title, body, field } of cases) {
        const result = await httpRequest(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title, body } }, admin);
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.extensions!['field']).toBe(field);
      }
      expect(await notificationCount(customer.id)).toBe(0);
      // The bounds themselves are allowed.
      await send([customer.id], 't'.repeat(200), 'b'.repeat(4000));
      expect(await notificationCount(customer.id)).toBe(1);
    });

    it('bounds page sizes and cursors', async () => {
      const customer = await newCustomer();
      for (const first of [0, 101, -1]) {
        const result = await httpRequest(t.url, NotificationsDocument, { first }, customer.token);
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.extensions!['field']).toBe('first');
      }
      expect(errorCode(await httpRequest(t.url, NotificationsDocument, { after: 'not-a-cursor' }, customer.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, NotificationsDocument, { first: 100 }, customer.token))).toBeUndefined();
    });

    it('answers variables of the wrong type with BAD_USER_INPUT naming the field', async () => {
      const customer = await newCustomer();
      const wrongEnum = await httpRequest(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title: 't', body: 'b', kind: 'NOPE' as never } }, admin);
      expect(errorCode(wrongEnum)).toBe('BAD_USER_INPUT');
      expect(wrongEnum.errors![0]!.extensions!['field']).toBe('input.kind');
      const wrongInt = await httpRequest(t.url, NotificationsDocument, { first: 'ten' as never }, customer.token);
      expect(errorCode(wrongInt)).toBe('BAD_USER_INPUT');
      expect(wrongInt.errors![0]!.extensions!['field']).toBe('first');
      expect(await notificationCount(customer.id)).toBe(0);
    });

    it('lets only admins send notifications', async () => {
      const customer = await newCustomer();
      const result = await httpRequest(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title: 'spam', body: 'spam' } }, customer.token);
      expect(errorCode(result)).toBe('FORBIDDEN');
      expect(await notificationCount(customer.id)).toBe(0);
    });

    it('answers anonymous and bad tokens with UNAUTHENTICATED over HTTP', async () => {
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, null))).toBe('UNAUTHENTICATED');
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, 'not.a.jwt'))).toBe('UNAUTHENTICATED');
      const expired = await token({ sub: 'late', role: 'customer' }, Math.floor(Date.now() / 1000) - 60);
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, expired))).toBe('UNAUTHENTICATED');
      const { SignJWT } = await import('jose');
      const foreign = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('mallory')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('some-other-secret-of-sufficient-length!!'));
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, foreign))).toBe('UNAUTHENTICATED');
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ sub: 'mallory', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, `${header}.${payload}.`))).toBe('UNAUTHENTICATED');
      const noExp = await new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('forever')
        .sign(new TextEncoder().encode(t.env.JWT_SECRET!));
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, noExp))).toBe('UNAUTHENTICATED');
      const [row] = await t.sql<{ count: number }>("select count(*)::int as count from users where id in ('mallory', 'late', 'forever')");
      expect(row!.count).toBe(0);
    });

    it('closes graphql-ws connections with 4403 for missing, bad and expired tokens', async () => {
      const expired = await token({ sub: 'late', role: 'customer' }, Math.floor(Date.now() / 1000) - 60);
      expect((await ws(null).closed).code).toBe(4403);
      expect((await ws('garbage').closed).code).toBe(4403);
      expect((await ws(expired).closed).code).toBe(4403);
      const bareToken = await token({ sub: 'bare', role: 'customer' });
      const bare = ws(null, { token: bareToken });
      await bare.connected;
    });

    it('closes with 4401 when the token expires on an open connection', async () => {
      const shortLived = await token({ sub: 'brief', role: 'customer' }, Math.floor(Date.now() / 1000) + 2);
      const socket = ws(shortLived);
      await socket.connected;
      expect((await socket.closed).code).toBe(4401);
    });

    it('rejects a malformed since with BAD_USER_INPUT on that subscription only', async () => {
      const customer = await newCustomer();
      const socket = ws(customer.token);
      const bad = socket.subscribe(NotificationAddedDocument, { since: 'yesterday' });
      const ended = await bad.ended.promise;
      expect(JSON.stringify(ended.error)).toContain('BAD_USER_INPUT');
      const counts = socket.subscribe(UnreadCountChangedDocument);
      expect(await counts.next()).toEqual({ unreadCountChanged: 0 });
    });
  });

  /** Waits until the relay has positioned and published every committed outbox row; the newest position. */
  const everythingPublished = () =>
    eventually(async () => {
      const [{ unpositioned, last }] = (await t.sql<{ unpositioned: number; last: string }>(
        'select count(*) filter (where position is null)::int as unpositioned, coalesce(max(position), 0)::text as last from outbox',
      )) as [{ unpositioned: number; last: string }];
      return unpositioned === 0 && BigInt(t.server.relay.lastPublishedPosition) >= BigInt(last) ? last : undefined;
    }, 'the relay to publish');

  it('answers a since older than the replay window with RESUME_EXPIRED, and prunes only published, expired outbox rows', async () => {
    const customer = await newCustomer();
    const [old] = await t.sql<{ id: string }>(
      `insert into notifications (user_id, title, created_at) values ($1, 'ancient', now() - interval '25 hours') returning id::text`,
      [customer.id],
    );
    const socket = ws(customer.token);
    const expired = socket.subscribe(NotificationAddedDocument, { since: old!.id });
    expect(JSON.stringify((await expired.ended.promise).error)).toContain('RESUME_EXPIRED');

    const newest = await everythingPublished();
    await t.sql(`update outbox set created_at = now() - interval '25 hours'`);
    await t.sql(`insert into notifications (user_id, title) values ($1, 'fresh')`, [customer.id]);
    // Only rows the relay has published may go, however old they are.
    const pruned = await pruneOutbox(t.server.database.db, newest, 24);
    expect(pruned).toBeGreaterThan(0);
    const [{ left }] = (await t.sql<{ left: number }>('select count(*)::int as left from outbox where position <= $1', [newest])) as [{ left: number }];
    expect(left).toBe(0);
    const [{ kept }] = (await t.sql<{ kept: number }>('select count(*)::int as kept from outbox where position > $1 or position is null', [newest])) as [{ kept: number }];
    expect(kept).toBeGreaterThan(0);
  });

  it('keeps positions increasing after the retention pruned every published row: new events still reach a subscriber', async () => {
    const customer = await newCustomer();
    const socket = ws(customer.token);
    const live = socket.subscribe(NotificationAddedDocument, {});
    await eventually(async () => {
      await t.sql(`insert into notifications (user_id, title) values ($1, 'probe')`, [customer.id]);
      return (await live.next(300).catch(() => undefined)) ? true : undefined;
    }, 'the subscription to go live');
    const published = await everythingPublished();
    // A quiet spell longer than the retention: every published row goes.
    await t.sql(`update outbox set created_at = now() - interval '25 hours'`);
    await pruneOutbox(t.server.database.db, published, 24);
    expect((await t.sql<{ n: number }>('select count(*)::int as n from outbox where position is not null'))[0]!.n).toBe(0);

    await t.sql(`insert into notifications (user_id, title) values ($1, 'after the quiet spell')`, [customer.id]);
    const after = await eventually(async () => {
      const [row] = await t.sql<{ position: string | null }>(`select position::text from outbox where position is not null order by position desc limit 1`);
      return row?.position ?? undefined;
    }, 'the new event to be positioned');
    expect(BigInt(after)).toBeGreaterThan(BigInt(published));
    // The open subscription remembers the last position it saw: a reused position would be dropped as a repeat.
    await expect(live.takeUntil((event) => event.notificationAdded.title === 'after the quiet spell', 5000)).resolves.toBeDefined();
  });

  it('leaves no PubSub subscription behind after 1,000 subscribe/complete cycles', async () => {
    const customer = await newCustomer();
    const socket = ws(customer.token);
    await socket.connected;
    const before = t.server.pubsub.activeSubscriptions();
    for (let i = 0; i < 1000; i += 1) {
      const subscription = socket.subscribe(NotificationAddedDocument, {});
      if (i % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
      subscription.close();
    }
    const counts = socket.subscribe(UnreadCountChangedDocument);
    await counts.next();
    counts.close();
    await socket.dispose();
    await eventually(() => (t.server.pubsub.activeSubscriptions() === before ? true : undefined), 'the PubSub subscriptions to end', 10_000);
    expect(t.server.pubsub.activeSubscriptions()).toBe(before);
  });
});
