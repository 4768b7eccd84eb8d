import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarkAllReadDocument, MeDocument, NotificationAddedDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { errorCode, httpData, httpRequest, wsConnect, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { OwnPostgres } from './support/services.js';
import { startTestServer, token, type TestServer } from './support/server.js';

describe('PostgreSQL restarting under a running server (a PostgreSQL of our own, shared Redis)', () => {
  let postgres: OwnPostgres;
  let t: TestServer;
  const sockets: WsConnection[] = [];

  /** A fresh client per call: the server restarts under it. */
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
    t = await startTestServer('postgres+redis', { DATABASE_URL: postgres.url(), RELAY_POLL_MS: '200' });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop().catch(() => {});
    await postgres?.destroy();
  });

  it('fails requests with a clear error while down, then comes back without a restart and loses no committed event', async () => {
    const jwt = await token({ sub: 'pg-user', role: 'customer' });
    await httpData(t.url, MeDocument, {}, jwt);
    const socket = wsConnect(t.url, { authorization: `Bearer ${jwt}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    await socket.subscribe(UnreadCountChangedDocument).next();
    await sql(`insert into notifications (user_id, title) values ('pg-user', 'before')`);
    expect((await added.next()).notificationAdded.title).toBe('before');
    const [{ id: lastSeen }] = (await sql(`select max(id)::text as id from notifications`)) as [{ id: string }];

    await postgres.stop();
    const during = await httpRequest(t.url, MarkAllReadDocument, {}, jwt);
    expect(errorCode(during)).toBe('SERVICE_UNAVAILABLE');
    expect(JSON.stringify(during)).not.toMatch(/ECONNREFUSED|terminat|at \w+ \(/);
    expect((await fetch(t.url.replace('/graphql', '/ready'))).status).toBe(503);
    // A subscription that cannot be served ends with an error, not silence.
    const refused = socket.subscribe(NotificationAddedDocument, { since: lastSeen });
    expect(JSON.stringify((await refused.ended.promise).error)).toContain('SERVICE_UNAVAILABLE');

    await postgres.start();
    await eventually(async () => ((await fetch(t.url.replace('/graphql', '/ready'))).status === 200 ? true : undefined), '/ready to be 200 again', 20_000);
    await eventually(() => (t.server.relay.isLeader ? true : undefined), 'the relay to lead again', 20_000);
    for (let i = 1; i <= 5; i += 1) await sql(`insert into notifications (user_id, title) values ('pg-user', $1)`, [`after ${i}`]);
    // The live subscription may have ended with an error during the outage; a resume with since gets everything once.
    const resumed = wsConnect(t.url, { authorization: `Bearer ${jwt}` });
    sockets.push(resumed);
    const replay = resumed.subscribe(NotificationAddedDocument, { since: lastSeen });
    expect((await replay.take(5)).map((event) => event.notificationAdded.title)).toEqual(['after 1', 'after 2', 'after 3', 'after 4', 'after 5']);
    await sql(`insert into notifications (user_id, title) values ('pg-user', 'live again')`);
    expect((await replay.next()).notificationAdded.title).toBe('live again');
    expect((await httpData(t.url, MarkAllReadDocument, {}, jwt)).markAllRead.unreadCount).toBe(0);
  });
});
