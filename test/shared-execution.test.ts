import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityAddedDocument,
  MessageAddedWithUnreadDocument,
  SendMessageDocument,
  SendNotificationDocument,
} from './generated/graphql.js';
import { httpData, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { eventually, probeUntilLive, within } from './support/deferred.js';
import { sample, scrape } from './support/metrics.js';
import { bearer, rawConnect } from './support/raw-ws.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { newPeople, openDirect, person } from './support/world.js';

const ActivityAddedQuery = print(ActivityAddedDocument);

/**
 * One event reaching many subscribers of the same operation is executed once
 * for all of them, except where a selected field depends on who asks.
 */
describe.each(BACKENDS)('shared execution of subscription events on %s', (backend) => {
  let t: TestServer;
  const sockets: WsConnection[] = [];
  const closers: (() => void)[] = [];
  const people = newPeople(() => t, 'shared');

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    for (const close of closers) close();
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  function ws(jwt: string): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${jwt}` });
    sockets.push(connection);
    return connection;
  }

  async function executions(): Promise<{ own: number; shared: number }> {
    const text = await scrape(t.url);
    return {
      own: sample(text, 'realtime_subscription_executions_total', { shared: 'false' }),
      shared: sample(text, 'realtime_subscription_executions_total', { shared: 'true' }),
    };
  }

  async function live(field: string, count: number): Promise<void> {
    await eventually(async () => (sample(await scrape(t.url), 'realtime_active_subscriptions', { field }) >= count ? true : undefined), `${count} ${field} subscriptions`);
  }

  it("never gives one participant another's unread count, while sharing between the same viewer's devices", async () => {
    const alice = await people.customer();
    const bob = await people.customer();
    const conversationId = await openDirect(t, alice, bob);

    const alicePhone = ws(alice.token).subscribe(MessageAddedWithUnreadDocument, { conversationId });
    const bobPhone = ws(bob.token).subscribe(MessageAddedWithUnreadDocument, { conversationId });
    const bobLaptop = ws(bob.token).subscribe(MessageAddedWithUnreadDocument, { conversationId });
    const bobBrowser = sseConnect(t.url, bob.token).subscribe(MessageAddedWithUnreadDocument, { conversationId });
    closers.push(() => bobBrowser.close());
    await live('messageAdded', 4);
    const before = await executions();

    // unreadCount is the count when the event is delivered, so the second message waits until every device has the first.
    const devices = { alicePhone, bobPhone, bobLaptop, bobBrowser };
    const received: Record<string, [string, number][]> = {};
    for (const body of ['one', 'two']) {
      await httpData(t.url, SendMessageDocument, { input: { conversationId, body } }, alice.token);
      for (const [name, device] of Object.entries(devices)) {
        const [event] = await device.take(1);
        (received[name] ??= []).push([event!.messageAdded.body, event!.messageAdded.conversation.unreadCount]);
      }
    }
    // Alice sent both: nothing of hers is unread. Bob has not read them.
    expect(received).toEqual({
      alicePhone: [['one', 0], ['two', 0]],
      bobPhone: [['one', 1], ['two', 2]],
      bobLaptop: [['one', 1], ['two', 2]],
      bobBrowser: [['one', 1], ['two', 2]],
    });

    const after = await executions();
    // Per message: one execution for Alice, one for Bob that his other two devices reuse (given they ran in the same turn of the event loop).
    expect(after.own - before.own + (after.shared - before.shared)).toBe(8);
    expect(after.own - before.own).toBeGreaterThanOrEqual(4);
    expect(after.shared - before.shared).toBeGreaterThan(0);
  });

  it('executes an event once for every admin watching the same feed, and separately for another operation', async () => {
    const admins = await Promise.all([1, 2, 3, 4].map(() => people.admin()));
    const customer = await people.customer();
    const feeds = admins.map((admin) => ws(admin.token).subscribe(ActivityAddedDocument, {}));
    // Another shape of the same stream (a topic filter) is its own execution, and still correct.
    const filtered = ws(admins[0]!.token).subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    await live('activityAdded', 5);
    const before = await executions();

    await httpData(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title: 'shared', body: '' } }, admins[0]!.token);
    const received = await Promise.all(feeds.map((feed) => feed.next()));
    const [created] = await filtered.take(1);
    expect(created!.activityAdded.topic).toBe('notification.created');
    for (const event of received) expect(event).toEqual(received[0]);
    expect(received[0]!.activityAdded).toEqual(created!.activityAdded);

    await eventually(async () => {
      const after = await executions();
      return after.own - before.own + (after.shared - before.shared) >= 5 ? after : undefined;
    }, 'five executions counted');
    const after = await executions();
    expect(after.own - before.own).toBeLessThan(5);
    expect(after.shared - before.shared).toBeGreaterThanOrEqual(1);
    for (const feed of [...feeds, filtered]) feed.close();
  });

  it("serves the admins' feed from one group: one PubSub stream, kept when its first member leaves, released with the last", async () => {
    const customer = await people.customer();
    const admins = await Promise.all([1, 2, 3].map(() => people.admin()));
    await eventually(async () => (sample(await scrape(t.url), 'realtime_active_subscriptions', { field: 'activityAdded' }) === 0 ? true : undefined), 'no feed left');
    const streamsBefore = t.server.pubsub.activeSubscriptions();
    const [first, second, third] = admins.map((admin) => ws(admin.token).subscribe(ActivityAddedDocument, {}));
    await live('activityAdded', 3);
    // Three subscribers, one stream: the joiners' own were closed once they joined.
    await eventually(() => (t.server.pubsub.activeSubscriptions() === streamsBefore + 1 ? true : undefined), 'one stream for the group');
    // An SSE subscriber of the same operation keeps its own stream and gets the same events.
    const overSse = sseConnect(t.url, admins[0]!.token).subscribe(ActivityAddedDocument, {});
    closers.push(() => overSse.close());
    await live('activityAdded', 4);

    first!.close();
    await httpData(t.url, SendNotificationDocument, { input: { userIds: [customer.id], title: 'after the first left', body: '' } }, admins[1]!.token);
    const [fromSecond, fromThird, fromSse] = await Promise.all([second!.next(), third!.next(), overSse.next()]);
    expect(fromSecond.activityAdded.topic).toBe('notification.created');
    expect(fromThird).toEqual(fromSecond);
    expect(fromSse).toEqual(fromSecond);
    expect(first!.pending).toBe(0);

    second!.close();
    third!.close();
    overSse.close();
    await eventually(() => (t.server.pubsub.activeSubscriptions() === streamsBefore ? true : undefined), 'the group stream to be released');
  });
});

describe.each(BACKENDS)('a slow member of a fan-out group on %s', (backend) => {
  let t: TestServer;
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    // Above what a reading client holds now and then, far below the flood.
    t = await startTestServer(backend, { SUBSCRIBER_BUFFER_BYTES: String(1024 * 1024) });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('is closed with 1013 once its socket holds more than SUBSCRIBER_BUFFER_BYTES, while the rest of the group keeps receiving', async () => {
    const slowAdmin = await person(t, 'group-slow-admin', 'admin');
    const fastAdmin = await person(t, 'group-fast-admin', 'admin');
    const fast = wsConnect(t.url, bearer(fastAdmin.token));
    sockets.push(fast);
    const fastFeed = fast.subscribe(ActivityAddedDocument, { topic: 'notification.created' });

    // A raw graphql-ws client, so the test can stop reading from its socket.
    const slow = await rawConnect(t.url);
    await slow.init(bearer(slowAdmin.token));
    slow.send({ id: 'feed', type: 'subscribe', payload: { query: ActivityAddedQuery, variables: { topic: 'notification.created' } } });
    await probeUntilLive(
      () => t.sql(`insert into notifications (user_id, title) values ('group-fast-admin', 'probe')`),
      (ms) => slow.next('next', ms),
      'the slow subscription to go live',
    );

    slow.socket.pause();
    // About 10 MB of frames for a client that reads nothing: past the kernel's socket buffers and the 1 MiB limit.
    await t.sql(`insert into notifications (user_id, title) select 'group-fast-admin', 'flood ' || i from generate_series(1, 30000) as i`);
    const [last] = await t.sql<{ id: string }>(`insert into notifications (user_id, title) values ('group-fast-admin', 'still here') returning id::text`);
    // The fast member gets everything, up to the last notification.
    await fastFeed.takeUntil((event) => (event.activityAdded.data as { notificationId?: string } | null)?.notificationId === last!.id, 30_000);

    slow.socket.resume();
    expect((await within(slow.closed, 30_000, 'the slow socket to close')).code).toBe(1013);
  });
});
