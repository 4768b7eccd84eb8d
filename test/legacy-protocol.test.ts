import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ActivityAddedDocument,
  MeDocument,
  NotificationAddedDocument,
  PresenceDocument,
  SendNotificationDocument,
  UnreadCountChangedDocument,
} from './generated/graphql.js';
import { errorCode, httpData, wsConnect } from './support/clients.js';
import { deferred, eventually, probeUntilLive, within } from './support/deferred.js';
import { legacyConnect, type LegacyConnection } from './support/legacy-client.js';
import { bearer, rawConnect, type RawSocket } from './support/raw-ws.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { newPeople, notificationsOf, person, type Person } from './support/world.js';

/** `ka` and WebSocket pings at this interval. */
const KA_MS = 400;
const CAP = 3;

/** messageAdded > replyTo^9 > id: depth 11, one over MAX_QUERY_DEPTH. */
const TOO_DEEP = `subscription { messageAdded(conversationId: "1") { ${'replyTo { '.repeat(9)}id${' }'.repeat(9)} } }`;

/** The subprotocol the server picks when a client offers `offered`. */
async function negotiated(url: string, offered: string[]): Promise<string> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), offered);
  const opened = deferred<string>();
  socket.on('open', () => opened.resolve(socket.protocol));
  socket.on('error', (error) => opened.reject(error));
  try {
    return await within(opened.promise, 5000, 'the socket to open');
  } finally {
    socket.close();
  }
}

describe.each(BACKENDS)('the legacy protocol (subscriptions-transport-ws) on %s', (backend) => {
  let t: TestServer;
  let admin: Person;
  const people = newPeople(() => t, `legacy-${backend === 'embedded' ? 'e' : 'r'}`);
  const opened: { close(): void }[] = [];

  beforeAll(async () => {
    t = await startTestServer(backend, { WS_PING_INTERVAL_MS: String(KA_MS), MAX_SUBSCRIPTIONS_PER_CONNECTION: String(CAP) });
    admin = await people.admin();
  });

  afterAll(async () => {
    for (const connection of opened) connection.close();
    await t?.stop();
  });

  function legacy(who: Person, options: { timeout?: number } = {}): LegacyConnection {
    const connection = legacyConnect(t.url, bearer(who.token), options);
    opened.push(connection);
    return connection;
  }

  async function raw(protocol = 'graphql-ws'): Promise<RawSocket> {
    const socket = await rawConnect(t.url, protocol);
    opened.push(socket);
    return socket;
  }

  const notify = (who: Person, title: string) =>
    httpData(t.url, SendNotificationDocument, { input: { userIds: [who.id], title, body: 'over the legacy protocol' } }, admin.token);

  it('runs subscriptions, queries and mutations for the subscriptions-transport-ws client', async () => {
    const customer = await people.customer();
    const connection = legacy(customer);
    await connection.connected;
    const added = connection.subscribe(NotificationAddedDocument, {});
    await probeUntilLive(() => notify(customer, 'probe'), (ms) => added.next(ms), 'the legacy subscription to go live');
    while (added.pending > 0) await added.next();

    await notify(customer, 'Hello, WebSocketLink');
    expect((await added.next()).notificationAdded).toMatchObject({ title: 'Hello, WebSocketLink', read: false });

    const me = connection.subscribe(MeDocument, {});
    expect((await me.next()).me).toMatchObject({ id: customer.id, role: 'CUSTOMER' });
    expect(await me.ended.promise).toEqual({});

    const sent = legacy(admin).subscribe(SendNotificationDocument, { input: { userIds: [customer.id], title: 'Sent over a socket', body: 'b' } });
    expect((await sent.next()).sendNotification).toBe(1);
    expect((await added.next()).notificationAdded.title).toBe('Sent over a socket');
  });

  it('writes `data` frames to legacy members of a fan-out group beside graphql-ws members', async () => {
    const legacyFeed = legacy(admin).subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    const modern = wsConnect(t.url, bearer(admin.token));
    opened.push({ close: () => void modern.dispose() });
    const modernFeed = modern.subscribe(ActivityAddedDocument, { topic: 'notification.created' });
    const customer = await people.customer();
    await probeUntilLive(() => notify(customer, 'probe'), (ms) => legacyFeed.next(ms), 'the legacy feed to go live');
    await probeUntilLive(() => notify(customer, 'probe'), (ms) => modernFeed.next(ms), 'the graphql-ws feed to go live');

    // Someone the probes never wrote to: the first event naming them is this one on both feeds.
    const target = await people.customer();
    await notify(target, 'fanned out');
    const isIt = (event: { activityAdded: { summary: string } }) => event.activityAdded.summary.includes(target.id);
    const [fromLegacy, fromModern] = await Promise.all([legacyFeed.takeUntil(isIt), modernFeed.takeUntil(isIt)]);
    expect(fromLegacy.at(-1)).toEqual(fromModern.at(-1));
  });

  it('resumes notificationAdded after `since`, then goes live', async () => {
    const customer = await people.customer();
    for (const title of ['one', 'two', 'three']) await notify(customer, title);
    const [, , oldest] = await notificationsOf(t, customer);
    const stream = legacy(customer).subscribe(NotificationAddedDocument, { since: oldest! });
    expect((await stream.take(2)).map((event) => event.notificationAdded.title)).toEqual(['two', 'three']);
    await notify(customer, 'four');
    expect((await stream.next()).notificationAdded.title).toBe('four');
  });

  it('answers a missing, invalid or expired token with connection_error, then closes with 4403', async () => {
    const expired = await token({ sub: 'legacy-expired', role: 'customer' }, '-1m');
    for (const payload of [{}, { authorization: 'Bearer not-a-jwt' }, bearer(expired)]) {
      const socket = await raw();
      socket.send({ type: 'connection_init', payload });
      expect(await socket.next()).toEqual({ type: 'connection_error', payload: { message: 'A valid token is required', extensions: { code: 'UNAUTHENTICATED' } } });
      expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden' });
    }
    // The client hands the connection_error to its connectionCallback.
    const refused = legacyConnect(t.url, {});
    await expect(refused.connected).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await refused.disconnected;
  });

  it('refuses an operation over the limits with its `error` message and keeps the connection', async () => {
    const customer = await people.customer();
    const connection = legacy(customer);
    const deep = connection.subscribe(TOO_DEEP);
    expect(await deep.ended.promise).toEqual({ error: expect.objectContaining({ message: 'Syntax Error: Query depth limit of 10 exceeded, found 11.' }) });
    expect((await connection.subscribe(MeDocument, {}).next()).me.id).toBe(customer.id);

    // On the wire: the first error as the payload (what the protocol and Apollo's mobile clients read), all of them under `errors`.
    const socket = await raw();
    await socket.init(bearer(customer.token));
    socket.send({ id: 'deep', type: 'start', payload: { query: TOO_DEEP } });
    const refusal = await socket.next('error');
    expect(refusal).toMatchObject({ id: 'deep', payload: { message: 'Syntax Error: Query depth limit of 10 exceeded, found 11.', errors: [{ message: 'Syntax Error: Query depth limit of 10 exceeded, found 11.' }] } });
  });

  it(`caps operations per connection at MAX_SUBSCRIPTIONS_PER_CONNECTION (${CAP}); a stop frees a place`, async () => {
    const customer = await people.customer();
    const connection = legacy(customer);
    const running = Array.from({ length: CAP }, () => connection.subscribe(UnreadCountChangedDocument, {}));
    for (const subscription of running) expect((await subscription.next()).unreadCountChanged).toBe(0);
    const { error } = await connection.subscribe(UnreadCountChangedDocument, {}).ended.promise;
    expect(errorCode({ errors: [error as { message: string }] })).toBe('RATE_LIMITED');

    running[0]!.close();
    expect((await connection.subscribe(UnreadCountChangedDocument, {}).next()).unreadCountChanged).toBe(0);
    await notify(customer, 'counted');
    for (const subscription of running.slice(1)) expect((await subscription.next()).unreadCountChanged).toBe(1);
  });

  it('closes with 4401 when the token expires', async () => {
    const { token: jwt } = await people.customer({ expiresIn: '2s' });
    const socket = await raw();
    await socket.init(bearer(jwt));
    expect(await within(socket.closed, 5000, 'the expiry close')).toEqual({ code: 4401, reason: 'Token expired' });
  });

  it('sends `ka` right after connection_ack, then every WS_PING_INTERVAL_MS; graphql-ws sockets get none', async () => {
    const customer = await people.customer();
    const socket = await raw();
    socket.send({ type: 'connection_init', payload: bearer(customer.token) });
    expect(await socket.next()).toEqual({ type: 'connection_ack' });
    expect(await socket.next()).toEqual({ type: 'ka' });
    const arrivals: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      expect(await socket.next(undefined, 3 * KA_MS)).toEqual({ type: 'ka' });
      arrivals.push(Date.now());
    }
    const gap = (arrivals[2]! - arrivals[0]!) / 2;
    expect(gap).toBeGreaterThan(KA_MS * 0.75);
    expect(gap).toBeLessThan(KA_MS * 2);

    const modern = await raw('graphql-transport-ws');
    await modern.init(bearer(customer.token));
    await expect(modern.next(undefined, 3 * KA_MS)).rejects.toThrow(/timed out/);
  });

  it('keeps the real client connected across many `ka` intervals', async () => {
    const customer = await people.customer();
    // The client gives a connection up when no `ka` came within its timeout after the last one: with a timeout
    // equal to the interval it loses that race within a few intervals, so it must be longer (README).
    const connection = legacy(customer, { timeout: 3 * KA_MS });
    await connection.connected;
    const gone = connection.disconnected.then(() => 'disconnected');
    expect(await Promise.race([gone, new Promise((resolve) => setTimeout(() => resolve('still open'), 6 * KA_MS))])).toBe('still open');
    expect((await connection.subscribe(MeDocument, {}).next()).me.id).toBe(customer.id);
  });

  it('picks graphql-transport-ws when a client offers both, else the legacy protocol', async () => {
    expect(await negotiated(t.url, ['graphql-ws', 'graphql-transport-ws'])).toBe('graphql-transport-ws');
    expect(await negotiated(t.url, ['graphql-transport-ws', 'graphql-ws'])).toBe('graphql-transport-ws');
    expect(await negotiated(t.url, ['graphql-ws'])).toBe('graphql-ws');
    // One that offers neither gets none, and graphql-ws closes it.
    const none = new WebSocket(t.url.replace(/^http/, 'ws'));
    const closed = deferred<[number, string]>();
    none.on('close', (code, reason) => closed.resolve([code, String(reason)]));
    expect(await within(closed.promise, 5000, 'the close')).toEqual([4406, 'Subprotocol not acceptable']);
  });

  it('shows a legacy user online in presence while connected, offline once closed', async () => {
    const customer = await people.customer();
    const online = async () => (await httpData(t.url, PresenceDocument, { userIds: [customer.id] }, admin.token)).presence[0]!.online;
    expect(await online()).toBe(false);
    const connection = legacy(customer);
    await connection.connected;
    await eventually(async () => ((await online()) ? true : undefined), 'the legacy user to be online');
    connection.close();
    await eventually(async () => ((await online()) ? undefined : true), 'the legacy user to be offline');
  });

  it('holds a start sent before connection_ack (or before connection_init) until the ack', async () => {
    const customer = await people.customer();
    const early = await raw();
    early.send({ type: 'connection_init', payload: bearer(customer.token) });
    early.send({ id: '1', type: 'start', payload: { query: 'subscription { unreadCountChanged }' } });
    expect(await early.next('data')).toEqual({ id: '1', type: 'data', payload: { data: { unreadCountChanged: 0 } } });

    const earlier = await raw();
    earlier.send({ id: 'a', type: 'start', payload: { query: '{ me { id } }' } });
    earlier.send({ type: 'connection_init', payload: bearer(customer.token) });
    expect(await earlier.next('data')).toEqual({ id: 'a', type: 'data', payload: { data: { me: { id: customer.id } } } });
    expect(await earlier.next()).toEqual({ id: 'a', type: 'complete' });
  });

  it('closes on connection_terminate (1000) and on a message the protocol does not have (4400)', async () => {
    const customer = await people.customer();
    const terminated = await raw();
    await terminated.init(bearer(customer.token));
    terminated.send({ type: 'connection_terminate' });
    expect((await terminated.closed).code).toBe(1000);

    for (const message of [{ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }, { id: '1', type: 'data', payload: {} }, { type: 'ping' }]) {
      const socket = await raw();
      await socket.init(bearer(customer.token));
      socket.send(message);
      expect(await socket.closed).toEqual({ code: 4400, reason: 'Invalid message received' });
    }
  });
});

describe.each(BACKENDS)('a legacy connection ending on %s', (backend) => {
  let t: TestServer;
  let stopped = false;

  beforeAll(async () => {
    t = await startTestServer(backend, { SUBSCRIBER_BUFFER_LIMIT: '50' });
  });

  afterAll(async () => {
    if (!stopped) await t?.stop();
  });

  it('is closed with 1013 when it stops reading (slow consumer)', async () => {
    const reader = await person(t, `legacy-slow-${backend === 'embedded' ? 'e' : 'r'}`, 'customer');
    const slow = await rawConnect(t.url, 'graphql-ws');
    await slow.init(bearer(reader.token));
    slow.send({ id: '1', type: 'start', payload: { query: 'subscription { notificationAdded { id body } }' } });
    await probeUntilLive(
      () => t.sql(`insert into notifications (user_id, title) values ($1, 'probe')`, [reader.id]),
      (ms) => slow.next('data', ms),
      'the slow subscription to go live',
    );
    slow.socket.pause();
    // ~20 MB for a client that reads nothing: far past the kernel's socket buffers.
    await t.sql(`insert into notifications (user_id, title, body) select $1, 'flood ' || i, repeat('x', 4000) from generate_series(1, 5000) as i`, [reader.id]);
    slow.socket.resume();
    expect((await within(slow.closed, 30_000, 'the slow socket to close')).code).toBe(1013);
  });

  it('is closed with 1001 when the server shuts down', async () => {
    const user = await person(t, `legacy-stop-${backend === 'embedded' ? 'e' : 'r'}`, 'customer');
    const connection = legacyConnect(t.url, bearer(user.token));
    await connection.connected;
    const socket = await rawConnect(t.url, 'graphql-ws');
    await socket.init(bearer(user.token));
    stopped = true;
    await t.stop();
    expect(await socket.closed).toEqual({ code: 1001, reason: 'Server shutting down' });
    await connection.disconnected;
  });
});

describe('the legacy protocol with TRUSTED_DOCUMENTS', () => {
  const ME = print(MeDocument);
  const ME_ID = createHash('sha256').update(ME).digest('hex');
  let t: TestServer;
  let dir: string;
  let jwt: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rt-legacy-'));
    await writeFile(join(dir, 'documents.json'), JSON.stringify({ [ME_ID]: ME }));
    t = await startTestServer('embedded', { TRUSTED_DOCUMENTS: join(dir, 'documents.json') });
    // Not person(): it provisions with a query's text, which this server refuses.
    jwt = await token({ sub: 'legacy-trusted', role: 'customer' });
  });

  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a `start` that names its document by id and sends no query; refuses text and unknown ids', async () => {
    const socket = await rawConnect(t.url, 'graphql-ws');
    await socket.init(bearer(jwt));
    socket.send({ id: 'by-id', type: 'start', payload: { documentId: ME_ID } });
    expect(await socket.next('data')).toMatchObject({ id: 'by-id', payload: { data: { me: { id: 'legacy-trusted' } } } });
    socket.send({ id: 'apq', type: 'start', payload: { extensions: { persistedQuery: { version: 1, sha256Hash: ME_ID } } } });
    expect(await socket.next('data')).toMatchObject({ id: 'apq', payload: { data: { me: { id: 'legacy-trusted' } } } });
    socket.send({ id: 'text', type: 'start', payload: { query: ME } });
    expect(await socket.next('error')).toMatchObject({ id: 'text', payload: { extensions: { code: 'PERSISTED_QUERY_ONLY' } } });
    socket.send({ id: 'unknown', type: 'start', payload: { documentId: 'f'.repeat(64) } });
    expect(await socket.next('error')).toMatchObject({ id: 'unknown', payload: { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } } });
    socket.close();
  });
});
