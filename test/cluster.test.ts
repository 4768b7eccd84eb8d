import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationAddedDocument, SendNotificationDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { httpData, wsConnect, type WsConnection } from './support/clients.js';
import { eventually, probeUntilLive } from './support/deferred.js';
import { clusterEnv, createTestDatabase, startServerProcess, TEST_REDIS_URL, token, type ServerProcess } from './support/server.js';
import { person } from './support/world.js';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Whether a server process currently publishes the outbox, read from its /metrics. */
async function isRelayLeader(process: ServerProcess): Promise<boolean> {
  const text = await (await fetch(process.url.replace('/graphql', '/metrics'))).text();
  return /^realtime_relay_leader 1$/m.test(text);
}

describe('a cluster of two server processes on one PostgreSQL and one Redis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  const processes: ServerProcess[] = [];
  const sockets: WsConnection[] = [];
  let sqlClient: pg.Client;

  /** Two live processes, started as needed. */
  async function runningPair(): Promise<[ServerProcess, ServerProcess]> {
    let running = processes.filter((process) => process.child.exitCode === null && process.child.signalCode === null);
    while (running.length < 2) {
      const started = await startServerProcess(env);
      processes.push(started);
      running = [...running, started];
    }
    return [running[0]!, running[1]!];
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    env = clusterEnv(database.url);
    sqlClient = new pg.Client({ connectionString: database.url });
    await sqlClient.connect();
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await Promise.all(processes.map((process) => process.kill('SIGKILL')));
    await sqlClient?.end();
    await database?.drop();
  });

  it('delivers what is written through one process to a subscriber on the other, once', async () => {
    const [a, b] = await runningPair();
    const customer = (await person(a, 'cluster-user', 'customer')).token;
    const admin = await token({ sub: 'cluster-admin', role: 'admin' });
    const socket = wsConnect(b.url, { authorization: `Bearer ${customer}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    const counts = socket.subscribe(UnreadCountChangedDocument);
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });

    await httpData(a.url, SendNotificationDocument, { input: { userIds: ['cluster-user'], title: 'first', body: 'via A' } }, admin);
    await httpData(b.url, SendNotificationDocument, { input: { userIds: ['cluster-user'], title: 'second', body: 'via B' } }, admin);
    const titles = (await added.take(2)).map((event) => event.notificationAdded.title);
    expect(titles).toEqual(['first', 'second']);
    // The count is read when an event arrives, so two notifications committed close together may show as one change to 2.
    const first = (await counts.next()).unreadCountChanged;
    if (first === 1) expect(await counts.next()).toEqual({ unreadCountChanged: 2 });
    else expect(first).toBe(2);

    // Exactly one process leads the relay; a third notification still arrives once.
    const leaders = await Promise.all([a, b].map(isRelayLeader));
    expect(leaders.filter(Boolean)).toHaveLength(1);
    await sqlClient.query(`insert into notifications (user_id, title) values ('cluster-user', 'third')`);
    expect((await added.next()).notificationAdded.title).toBe('third');
    expect(added.pending).toBe(0);
  });

  it('loses no event when the relay leader is killed mid-stream', async () => {
    const running = await runningPair();
    const leader = await eventually(async () => {
      for (const process of running) if (await isRelayLeader(process)) return process;
      return undefined;
    }, 'a relay leader');
    const survivor = running.find((process) => process !== leader)!;
    const userId = 'failover-user';
    const customer = (await person(survivor, userId, 'customer')).token;
    const socket = wsConnect(survivor.url, { authorization: `Bearer ${customer}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    // A first event proves this subscription is live before the stream starts.
    await probeUntilLive(
      () => sqlClient.query(`insert into notifications (user_id, title) values ($1, 'warm-up')`, [userId]),
      (ms) => added.next(ms),
      'the subscription to go live',
      1000,
    );
    while (added.pending > 0) await added.next();

    const total = 300;
    let killedAt = 0;
    let takenOverAfterMs: number | null = null;
    const watchTakeOver = (async () => {
      await eventually(async () => (killedAt && (await isRelayLeader(survivor)) ? true : undefined), 'the survivor to lead', 15_000);
      takenOverAfterMs = Date.now() - killedAt;
    })();
    const writes = (async () => {
      for (let i = 1; i <= total; i += 1) {
        await sqlClient.query('insert into notifications (user_id, title) values ($1, $2)', [userId, `n${i}`]);
        if (i === 100) {
          await leader.kill('SIGKILL');
          killedAt = Date.now();
        }
      }
    })();
    const received: string[] = [];
    while (received.length < total) {
      const event = await added.next(15_000).catch((error: Error) => {
        const missing = Array.from({ length: total }, (_, i) => `n${i + 1}`).filter((title) => !received.includes(title));
        throw new Error(`${error.message} after ${received.length} events; missing ${missing.join(",")}`);
      });
      received.push(event.notificationAdded.title);
    }
    await writes;
    await watchTakeOver;
    expect(received).toEqual(Array.from({ length: total }, (_, i) => `n${i + 1}`));
    console.log(`relay fail-over: the survivor led ${takenOverAfterMs} ms after the SIGKILL (RELAY_POLL_MS=20)`);
    expect(await isRelayLeader(survivor)).toBe(true);
    // Nothing repeated after the last one.
    await sqlClient.query(`insert into notifications (user_id, title) values ($1, 'sentinel')`, [userId]);
    expect((await added.next()).notificationAdded.title).toBe('sentinel');
  });

  it('a process stopped with SIGTERM closes sockets with 1001, finishes its mutation, and hands over the relay', async () => {
    const [a, b] = await runningPair();
    const leader = (await isRelayLeader(a)) ? a : b;
    const other = leader === a ? b : a;
    const customer = (await person(other, 'sigterm-user', 'customer')).token;
    const admin = (await person(other, 'sigterm-admin', 'admin')).token;
    const onLeader = wsConnect(leader.url, { authorization: `Bearer ${customer}` });
    sockets.push(onLeader);
    await onLeader.connected;
    await sqlClient.query(`insert into users (id, role, display_name) select 'bulk-' || i, 'CUSTOMER', 'Bulk ' || i from generate_series(1, 3000) as i on conflict do nothing`);
    const [{ users }] = (await sqlClient.query<{ users: number }>('select count(*)::int as users from users')).rows as [{ users: number }];

    // A broadcast to every user is in flight when the signal arrives.
    const inFlight = httpData(leader.url, SendNotificationDocument, { input: { title: 'last words', body: 'before stopping' } }, admin);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const signalledAt = Date.now();
    const exited = leader.kill('SIGTERM');
    expect((await onLeader.closed).code).toBe(1001);
    expect((await inFlight).sendNotification).toBe(users);
    expect(await exited).toBe(0);
    const exitedAfterMs = Date.now() - signalledAt;

    // The survivor leads the relay now and the user, reconnected there, resumes with since.
    await eventually(async () => ((await isRelayLeader(other)) ? true : undefined), 'the other process to lead the relay', 5000);
    console.log(`SIGTERM: exited ${exitedAfterMs} ms after the signal (its ${users}-recipient mutation finished first); the other process led ${Date.now() - signalledAt} ms after the signal`);
    const resumed = wsConnect(other.url, { authorization: `Bearer ${customer}` });
    sockets.push(resumed);
    const replay = resumed.subscribe(NotificationAddedDocument, { since: '1' });
    const titles = (await replay.takeUntil((event) => event.notificationAdded.title === 'last words')).map((event) => event.notificationAdded.title);
    expect(titles).toContain('last words');
  });
  it('carries a broadcast to 1,200 users in three Redis messages, and holds no Redis channel per subscriber', async () => {
    const [, b] = await runningPair();
    const prefix = env.PUBSUB_PREFIX!;
    const customer = await token({ sub: 'bus-1200', role: 'customer' });
    const socket = wsConnect(b.url, { authorization: `Bearer ${customer}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    const counts = socket.subscribe(UnreadCountChangedDocument);
    expect(await counts.next()).toEqual({ unreadCountChanged: 0 });

    const redis = new Redis(TEST_REDIS_URL);
    try {
      // Outbox channels (this user's notifications and unread count) are routed inside each process.
      expect(((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).filter((channel) => !channel.startsWith(`${prefix}presence.`))).toEqual([`${prefix}outbox`]);
      const monitor = new Redis(TEST_REDIS_URL);
      const messages = new Map<string, number>();
      monitor.on('pmessage', (_pattern: string, channel: string) => messages.set(channel, (messages.get(channel) ?? 0) + 1));
      await monitor.psubscribe(`${prefix}*`);
      try {
        await sqlClient.query(`insert into notifications (user_id, title) select 'bus-' || n, 'to everyone' from generate_series(1, 1200) n`);
        expect((await added.next()).notificationAdded.title).toBe('to everyone');
        expect(await counts.next()).toEqual({ unreadCountChanged: 1 });
        // The relay reads 500 rows at a time: 500 + 500 + 200. (Presence may change meanwhile: users of the earlier tests' stopped processes lapse.)
        messages.forEach((_, channel) => channel.startsWith(`${prefix}presence.`) && messages.delete(channel));
        expect(Object.fromEntries(messages)).toEqual({ [`${prefix}outbox`]: 3 });
      } finally {
        monitor.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  });
});
