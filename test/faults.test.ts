import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationAddedDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { OwnRedis } from './support/services.js';
import { clusterEnv, createTestDatabase, startServerProcess, type ServerProcess } from './support/server.js';
import { person } from './support/world.js';

async function readiness(process: ServerProcess): Promise<number> {
  return (await fetch(process.url.replace('/graphql', '/ready'))).status;
}

describe('delivery under faults (two processes, PostgreSQL + a Redis of our own)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: OwnRedis;
  let sqlClient: pg.Client;
  const processes: ServerProcess[] = [];
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await OwnRedis.start();
    const env = clusterEnv(database.url, redis.url);
    processes.push(await startServerProcess(env), await startServerProcess(env));
    sqlClient = new pg.Client({ connectionString: database.url });
    await sqlClient.connect();
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await Promise.all(processes.map((process) => process.kill('SIGKILL')));
    await sqlClient?.end();
    await redis?.kill();
    await database?.drop();
  });

  it('Redis restarting while events flow: /ready follows it, every subscriber gets every event once, in order', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `fault-user-${i}`);
    const subscriptions: { userId: string; stream: Subscription<{ notificationAdded: { title: string } }> }[] = [];
    for (const [index, userId] of users.entries()) {
      const server = processes[index % 2]!;
      const jwt = (await person(server, userId, 'customer')).token;
      const socket = wsConnect(server.url, { authorization: `Bearer ${jwt}` });
      sockets.push(socket);
      const stream = socket.subscribe(NotificationAddedDocument, {});
      // The count answers at once; the notification stream on the same socket subscribed before it.
      await socket.subscribe(UnreadCountChangedDocument).next();
      subscriptions.push({ userId, stream });
    }
    const perUser = 50;
    const write = async (round: number) => {
      await sqlClient.query(`insert into notifications (user_id, title) select u, $1 from unnest($2::text[]) as u`, [`n${round}`, users]);
    };
    const received = new Map<string, string[]>(users.map((userId) => [userId, []]));
    const takeAll = async (upTo: number) => {
      for (const { userId, stream } of subscriptions) {
        const titles = received.get(userId)!;
        while (titles.length < upTo) titles.push((await stream.next(20_000)).notificationAdded.title);
      }
    };
    for (let round = 1; round <= 15; round += 1) await write(round);
    await takeAll(15);
    await redis.kill();
    await eventually(async () => ((await Promise.all(processes.map(readiness))).every((status) => status === 503) ? true : undefined), '/ready to answer 503');
    // Writes go on while Redis is away: they land in PostgreSQL and its outbox.
    for (let round = 16; round <= 35; round += 1) await write(round);
    const restartedAt = Date.now();
    await redis.start();
    await eventually(async () => ((await Promise.all(processes.map(readiness))).every((status) => status === 200) ? true : undefined), '/ready to answer 200 again', 20_000);
    const readyAfterMs = Date.now() - restartedAt;
    for (let round = 36; round <= perUser; round += 1) await write(round);

    await takeAll(perUser);
    // Recovery figures for the record (not asserted: timing belongs to benchmarks).
    console.log(`redis restart: /ready 200 on both processes ${readyAfterMs} ms after redis-server started; all ${users.length * perUser} notifications delivered ${Date.now() - restartedAt} ms after it`);
    const expected = Array.from({ length: perUser }, (_, i) => `n${i + 1}`);
    for (const userId of users) expect({ userId, titles: received.get(userId) }).toEqual({ userId, titles: expected });
    // And nothing more: a sentinel is the very next event for everyone.
    await sqlClient.query(`insert into notifications (user_id, title) select u, 'sentinel' from unnest($1::text[]) as u`, [users]);
    for (const { stream } of subscriptions) expect((await stream.next()).notificationAdded.title).toBe('sentinel');
  });
});
