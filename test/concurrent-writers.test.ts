import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityAddedDocument,
  MessageAddedDocument,
  NotificationAddedDocument,
  SendMessageDocument,
  SendNotificationDocument,
} from './generated/graphql.js';
import { httpData, wsConnect, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { clusterEnv, createTestDatabase, startServerProcess, type ServerProcess } from './support/server.js';
import { openDirect, person } from './support/world.js';

/**
 * Writers of different keys commit concurrently; writers of one key take
 * turns; whatever the interleaving, resume (since) and live delivery see every
 * id once, in order, on either process of a cluster.
 */
describe('concurrent event writers on a cluster of two processes (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: string;
  const clients: pg.Client[] = [];
  const sockets: WsConnection[] = [];

  async function connection(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  function ws(url: string, jwt: string): WsConnection {
    const socket = wsConnect(url, { authorization: `Bearer ${jwt}` });
    sockets.push(socket);
    return socket;
  }

  /** Whether the backend with this pid waits for a lock right now. */
  async function waitsForLock(observer: pg.Client, pid: number): Promise<boolean> {
    const { rows } = await observer.query<{ waiting: boolean }>(`select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = $1`, [pid]);
    return rows[0]?.waiting === true;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = clusterEnv(database.url);
    a = await startServerProcess(env);
    b = await startServerProcess(env);
    admin = (await person(a, 'cw-admin', 'admin')).token;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await Promise.all(clients.map((client) => client.end().catch(() => {})));
    await Promise.all([a, b].map((process) => process?.kill('SIGKILL')));
    await database?.drop();
  });

  it('does not skip a lower id that commits late, lets other keys commit meanwhile, and makes the same key wait', async () => {
    const x = (await person(a, 'late-x', 'customer')).token;
    const y = (await person(a, 'late-y', 'customer')).token;
    const xStream = ws(b.url, x).subscribe(NotificationAddedDocument, {});
    const yStream = ws(a.url, y).subscribe(NotificationAddedDocument, {});
    const activity = ws(b.url, admin).subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // graphql-ws has no subscribe ack; let the three start

    const held = await connection();
    const second = await connection();
    const observer = await connection();
    await held.query('begin');
    const [early] = (await held.query<{ id: string }>(`insert into notifications (user_id, title) values ('late-x', 'held open') returning id::text`)).rows;

    // Another user's writer neither waits for the open transaction nor waits for its event.
    const other = await second.query<{ id: string }>(`insert into notifications (user_id, title) values ('late-y', 'meanwhile') returning id::text`);
    expect(BigInt(other.rows[0]!.id)).toBeGreaterThan(BigInt(early!.id));
    expect((await yStream.next()).notificationAdded.title).toBe('meanwhile');

    // The same user's writer waits until the open transaction ends: its id comes after.
    const sameKey = second.query<{ id: string }>(`insert into notifications (user_id, title) values ('late-x', 'after it') returning id::text`);
    const secondPid = (second as unknown as { processID: number }).processID;
    await eventually(async () => ((await waitsForLock(observer, secondPid)) ? true : undefined), 'the same-key writer to wait');
    await held.query('commit');
    const later = (await sameKey).rows[0]!.id;
    expect(BigInt(later)).toBeGreaterThan(BigInt(early!.id));

    // The late commit is delivered (not skipped), then the writer that waited for it.
    const delivered = await xStream.take(2);
    expect(delivered.map((event) => event.notificationAdded.id)).toEqual([early!.id, later]);
    const seen = (await activity.take(3)).map((event) => event.activityAdded);
    expect(seen.map((event) => (event.data as { notificationId: string }).notificationId)).toEqual([other.rows[0]!.id, early!.id, later]);
    const ids = seen.map((event) => BigInt(event.id));
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
  });

  it('delivers a lower id that commits after many later ones were taken, one take each (the relay scans above a floor)', async () => {
    await person(a, 'floor-x', 'customer');
    const y = (await person(a, 'floor-y', 'customer')).token;
    const xEvents = ws(b.url, admin).subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    const yStream = ws(a.url, y).subscribe(NotificationAddedDocument, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = await connection();
    const other = await connection();
    await held.query('begin');
    const [early] = (await held.query<{ id: string }>(`insert into notifications (user_id, title) values ('floor-x', 'held open') returning id::text`)).rows;
    // Each one delivered before the next is written: every one its own take, each vouching for the ids up to its own.
    for (let i = 0; i < 12; i += 1) {
      await other.query(`insert into notifications (user_id, title) values ('floor-y', $1)`, [`later ${i}`]);
      expect((await yStream.next()).notificationAdded.title).toBe(`later ${i}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // idle polls of the relay too
    await held.query('commit');
    await other.query(`insert into notifications (user_id, title) values ('floor-y', 'after the commit')`);
    const ids = (await xEvents.take(14)).map((event) => (event.activityAdded.data as { notificationId: string }).notificationId);
    expect(ids.indexOf(early!.id)).toBe(12);
    expect((await yStream.next()).notificationAdded.title).toBe('after the commit');
  });

  it("does not hold back another user's sendNotification sent at the same moment as a busy user's (they may share a statement)", async () => {
    await person(a, 'busy-x', 'customer');
    await person(a, 'free-y', 'customer');
    const held = await connection();
    await held.query('begin');
    await held.query(`insert into notifications (user_id, title) values ('busy-x', 'held open')`);
    // Over one graphql-ws connection, sent together and interleaved: the process reads them in one go and
    // writes them in the same turn of its event loop, so they share statements. Four busy ones: each then
    // waits alone, holding one of the pool's ten connections.
    const socket = ws(a.url, admin);
    await socket.connected;
    const send = (userId: string, i: number) => socket.subscribe(SendNotificationDocument, { input: { userIds: [userId], title: `${userId} ${i}`, body: '' } }).next();
    let busyAnswered = 0;
    const busy: ReturnType<typeof send>[] = [];
    const freeSends: ReturnType<typeof send>[] = [];
    for (let i = 0; i < 12; i += 1) {
      if (i % 3 === 0) busy.push(send('busy-x', i).then((answer) => ((busyAnswered += 1), answer)));
      else freeSends.push(send('free-y', i));
    }
    const free = await Promise.race([Promise.all(freeSends), new Promise<'held back'>((resolve) => setTimeout(() => resolve('held back'), 5_000))]);
    expect(free === 'held back' ? free : free.map((answer) => answer.sendNotification)).toEqual(Array(8).fill(1));
    expect(busyAnswered).toBe(0);
    await held.query('commit');
    expect((await Promise.all(busy)).map((answer) => answer.sendNotification)).toEqual(Array(4).fill(1));
  });

  /**
   * Follows a stream by reconnecting again and again with since, alternating
   * between the two processes, until it has `until()` items (known once the
   * writers are done); returns every id it received, in order.
   */
  async function follow(
    open: (url: string, since: string) => { next(): Promise<string>; close(): Promise<void> },
    firstSince: string,
    until: () => number | null,
  ): Promise<string[]> {
    const received: string[] = [];
    let since = firstSince;
    for (let turn = 0; ; turn += 1) {
      const target = until();
      if (target !== null && received.length >= target) return received;
      const stream = open(turn % 2 === 0 ? a.url : b.url, since);
      const take = 1 + (turn % 7) * 3;
      try {
        for (let i = 0; i < take; i += 1) {
          const id = await stream.next();
          received.push(id);
          since = id;
        }
      } catch {
        // Nothing more within the wait: reconnect and ask again.
      } finally {
        await stream.close();
      }
    }
  }

  it("delivers one user's notifications from many concurrent writers exactly once, in id order, across reconnects with since", async () => {
    const hot = (await person(a, 'hot-user', 'customer')).token;
    const seed = await connection();
    const [start] = (await seed.query<{ id: string }>(`insert into notifications (user_id, title) values ('hot-user', 'start') returning id::text`)).rows;
    let expected: number | null = null;

    const following = follow(
      (url, since) => {
        const socket = wsConnect(url, { authorization: `Bearer ${hot}` });
        const subscription = socket.subscribe(NotificationAddedDocument, { since });
        return {
          next: async () => (await subscription.next(1500)).notificationAdded.id,
          close: () => socket.dispose(),
        };
      },
      start!.id,
      () => expected,
    );

    const writers = await Promise.all(Array.from({ length: 8 }, () => connection()));
    const deadline = Date.now() + 4000;
    const plainSql = writers.map(async (client, w) => {
      for (let i = 0; Date.now() < deadline; i += 1) {
        // Mostly the hot user, sometimes a multi-user statement that includes it, sometimes others only.
        if (i % 5 === 0) {
          await client.query(`insert into notifications (user_id, title) select u, 'multi' from unnest($1::text[]) as u order by notification_lock_bucket(u), u`, [
            ['hot-user', `cold-${w}-${i}`, `cold-${w}-${i + 1}`],
          ]);
        } else if (i % 5 === 1) {
          await client.query(`insert into notifications (user_id, title) values ($1, 'cold')`, [`cold-${w}`]);
        } else {
          await client.query(`insert into notifications (user_id, title) values ('hot-user', 'sql')`);
        }
      }
    });
    const mutations = [a, b].map(async (process) => {
      while (Date.now() < deadline) {
        await httpData(process.url, SendNotificationDocument, { input: { userIds: ['hot-user'], title: 'api', body: '' } }, admin);
      }
    });
    await Promise.all([...plainSql, ...mutations]);

    const { rows } = await seed.query<{ id: string }>(`select id::text from notifications where user_id = 'hot-user' and id > $1 order by notifications.id`, [start!.id]);
    expect(rows.length).toBeGreaterThan(100);
    expected = rows.length;
    const received = await following;
    expect(received).toEqual(rows.map((row) => row.id));
  }, 60_000);

  it("delivers one conversation's messages from concurrent writers exactly once, in id order, across reconnects with since", async () => {
    const alice = await person(a, 'cw-alice', 'customer', { name: 'Alice' });
    const bob = await person(a, 'cw-bob', 'customer', { name: 'Bob' });
    const conversationId = await openDirect(a, alice, bob);
    const { sendMessage } = await httpData(a.url, SendMessageDocument, { input: { conversationId, body: 'start' } }, alice.token);
    let expected: number | null = null;

    const following = follow(
      (url, since) => {
        const socket = wsConnect(url, { authorization: `Bearer ${bob.token}` });
        const subscription = socket.subscribe(MessageAddedDocument, { conversationId, since });
        return {
          next: async () => (await subscription.next(1500)).messageAdded.id,
          close: () => socket.dispose(),
        };
      },
      sendMessage.id,
      () => expected,
    );

    const writers = await Promise.all(Array.from({ length: 6 }, () => connection()));
    const deadline = Date.now() + 3000;
    const plainSql = writers.map(async (client, w) => {
      for (let i = 0; Date.now() < deadline; i += 1) {
        await client.query('insert into messages (conversation_id, sender_id, body) values ($1, $2, $3)', [conversationId, w % 2 === 0 ? 'cw-alice' : 'cw-bob', `sql ${w}/${i}`]);
      }
    });
    // The API's own sends, within the per-user rate limit, from both processes at once.
    const mutations = [
      [a, alice.token],
      [b, bob.token],
    ].map(async ([process, jwt]) => {
      for (let i = 0; i < 10 && Date.now() < deadline; i += 1) {
        await httpData((process as ServerProcess).url, SendMessageDocument, { input: { conversationId, body: `api ${i}` } }, jwt as string);
      }
    });
    await Promise.all([...plainSql, ...mutations]);

    const seed = await connection();
    const { rows } = await seed.query<{ id: string }>('select id::text from messages where conversation_id = $1 and id > $2 order by messages.id', [conversationId, sendMessage.id]);
    expect(rows.length).toBeGreaterThan(50);
    expected = rows.length;
    const received = await following;
    expect(received).toEqual(rows.map((row) => row.id));
  }, 60_000);
});
