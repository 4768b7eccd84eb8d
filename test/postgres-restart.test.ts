import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarkAllReadDocument, MeDocument, NotificationAddedDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { errorCode, httpData, httpRequest, wsConnect, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { OwnPostgres } from './support/services.js';
import { clusterEnv, startServerProcess, token, type ServerProcess } from './support/server.js';

async function status(process: ServerProcess, path: '/ready' | '/metrics'): Promise<{ code: number; text: string }> {
  const response = await fetch(process.url.replace('/graphql', path));
  return { code: response.status, text: await response.text() };
}

describe('PostgreSQL restarting under two running server processes (a PostgreSQL of our own, shared Redis)', () => {
  let postgres: OwnPostgres;
  const processes: ServerProcess[] = [];
  const sockets: WsConnection[] = [];

  /** A fresh client per call: the database restarts under it. */
  async function sql(text: string, params: unknown[] = []) {
    const client = new pg.Client({ connectionString: postgres.url() });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    postgres = await OwnPostgres.start();
    const env = clusterEnv(postgres.url());
    processes.push(await startServerProcess(env), await startServerProcess(env));
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await Promise.all(processes.map((process) => process.kill('SIGKILL')));
    await postgres?.destroy();
  });

  it('fails requests with a clear error while down, then comes back without a restart and loses no committed event', async () => {
    const [writer, reader] = processes as [ServerProcess, ServerProcess];
    const jwt = await token({ sub: 'pg-user', role: 'customer' });
    await httpData(reader.url, MeDocument, {}, jwt);
    const socket = wsConnect(reader.url, { authorization: `Bearer ${jwt}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    await socket.subscribe(UnreadCountChangedDocument).next();
    await sql(`insert into notifications (user_id, title) values ('pg-user', 'before')`);
    expect((await added.next()).notificationAdded.title).toBe('before');
    const [{ id: lastSeen }] = (await sql(`select max(id)::text as id from notifications`)) as [{ id: string }];

    await postgres.stop();
    for (const process of processes) {
      const during = await httpRequest(process.url, MarkAllReadDocument, {}, jwt);
      expect(errorCode(during)).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(during)).not.toMatch(/ECONNREFUSED|terminat|at \w+ \(/);
      expect((await status(process, '/ready')).code).toBe(503);
    }
    // A subscription that cannot be served ends with an error, not silence.
    const refused = socket.subscribe(NotificationAddedDocument, { since: lastSeen });
    expect(JSON.stringify((await refused.ended.promise).error)).toContain('SERVICE_UNAVAILABLE');

    const restartedAt = Date.now();
    await postgres.start();
    await eventually(
      async () => ((await Promise.all(processes.map((process) => status(process, '/ready')))).every((ready) => ready.code === 200) ? true : undefined),
      '/ready to be 200 again on both processes',
      20_000,
    );
    const readyAfterMs = Date.now() - restartedAt;
    // The relay came back by itself on one of them (its session and LISTEN were lost with the database).
    await eventually(
      async () => {
        const leaders = (await Promise.all(processes.map((process) => status(process, '/metrics')))).filter((metrics) => /^realtime_relay_leader 1$/m.test(metrics.text));
        return leaders.length === 1 ? true : undefined;
      },
      'exactly one relay leader again',
      20_000,
    );
    const ledAfterMs = Date.now() - restartedAt;
    for (let i = 1; i <= 5; i += 1) await sql(`insert into notifications (user_id, title) values ('pg-user', $1)`, [`after ${i}`]);
    // The live subscription may have ended with an error during the outage; a resume with since gets everything once.
    const resumed = wsConnect(reader.url, { authorization: `Bearer ${jwt}` });
    sockets.push(resumed);
    const replay = resumed.subscribe(NotificationAddedDocument, { since: lastSeen });
    expect((await replay.take(5)).map((event) => event.notificationAdded.title)).toEqual(['after 1', 'after 2', 'after 3', 'after 4', 'after 5']);
    await sql(`insert into notifications (user_id, title) values ('pg-user', 'live again')`);
    expect((await replay.next()).notificationAdded.title).toBe('live again');
    expect((await httpData(writer.url, MarkAllReadDocument, {}, jwt)).markAllRead.unreadCount).toBe(0);
    console.log(`postgres restart: /ready 200 on both processes ${readyAfterMs} ms after PostgreSQL started; a relay leader again after ${ledAfterMs} ms`);
  });
});
