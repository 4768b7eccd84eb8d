import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { MeDocument, NotificationAddedDocument, SendNotificationDocument } from './generated/graphql.js';
import { errorCode, giveSseTimeToSubscribe, httpData, httpRequest, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { deferred, eventually, within } from './support/deferred.js';
import { bearer, rawConnect, type RawSocket } from './support/raw-ws.js';
import { startTestServer, token, type TestServer } from './support/server.js';
import { newPeople } from './support/world.js';

const ME = print(MeDocument);
const NOTIFICATION_ADDED = print(NotificationAddedDocument);

describe('security', () => {
  let t: TestServer;
  let admin: string;
  const sockets: RawSocket[] = [];
  const clients: WsConnection[] = [];
  const newCustomer = newPeople(() => t, 'sec').customer;

  async function raw(): Promise<RawSocket> {
    const socket = await rawConnect(t.url);
    sockets.push(socket);
    return socket;
  }

  async function acked(jwt: string): Promise<RawSocket> {
    const socket = await raw();
    await socket.init(bearer(jwt));
    return socket;
  }

  function client(params: Record<string, unknown> | null): WsConnection {
    const connection = wsConnect(t.url, params);
    clients.push(connection);
    return connection;
  }

  beforeAll(async () => {
    t = await startTestServer('embedded', { WS_INIT_TIMEOUT_MS: '300' });
    admin = await token({ sub: 'sec-admin', role: 'admin' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(clients.map((connection) => connection.dispose()));
    await t?.stop();
  });

  describe('graphql-ws close codes, on raw sockets', () => {
    it('4400 for a malformed message, before and after the ack', async () => {
      const notJson = await raw();
      notJson.sendRaw('{not json');
      expect((await notJson.closed).code).toBe(4400);

      const unknownType = await raw();
      unknownType.send({ type: 'hello' });
      expect((await unknownType.closed).code).toBe(4400);

      const { token: jwt } = await newCustomer();
      const noId = await acked(jwt);
      noId.send({ type: 'subscribe', payload: { query: ME } });
      expect((await noId.closed).code).toBe(4400);

      const noQuery = await acked(jwt);
      noQuery.send({ id: '1', type: 'subscribe', payload: { variables: {} } });
      expect((await noQuery.closed).code).toBe(4400);

      const wrongTypes = await acked(jwt);
      wrongTypes.send({ id: 7, type: 'subscribe', payload: { query: ME } });
      expect((await wrongTypes.closed).code).toBe(4400);
    });

    it('4401 for a subscribe before the connection is acknowledged', async () => {
      const socket = await raw();
      socket.send({ id: '1', type: 'subscribe', payload: { query: ME } });
      expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    });

    it('4403 for a missing, invalid or expired token at connection_init, over raw sockets and the graphql-ws client', async () => {
      const expired = await token({ sub: 'sec-expired', role: 'customer' }, Math.floor(Date.now() / 1000) - 60);
      const forged = `${(await newCustomer()).token.slice(0, -4)}AAAA`;
      for (const payload of [undefined, {}, { authorization: 'Bearer nonsense' }, bearer(expired), bearer(forged), { token: 42 }]) {
        const socket = await raw();
        socket.send({ type: 'connection_init', ...(payload === undefined ? {} : { payload }) });
        expect((await socket.closed).code).toBe(4403);
      }
      expect((await client(bearer(expired)).closed).code).toBe(4403);
      expect((await client(null).closed).code).toBe(4403);
    });

    it('4408 when no connection_init arrives in time (WS_INIT_TIMEOUT_MS)', async () => {
      const started = Date.now();
      const socket = await raw();
      expect(await socket.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('4409 for a second subscribe with an id that is still running', async () => {
      const { token: jwt } = await newCustomer();
      const socket = await acked(jwt);
      socket.send({ id: 'same', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
      socket.send({ id: 'same', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
      expect(await socket.closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
    });

    it('4429 for a second connection_init', async () => {
      const { token: jwt } = await newCustomer();
      const socket = await acked(jwt);
      socket.send({ type: 'connection_init', payload: bearer(jwt) });
      expect((await socket.closed).code).toBe(4429);
    });

    it('1009 for a message over WS_MAX_PAYLOAD_BYTES (64 KiB), without a stack trace on stderr, and the server stays healthy', async () => {
      const { token: jwt } = await newCustomer();
      const socket = await acked(jwt);
      const consoleErrors = vi.spyOn(console, 'error');
      try {
        socket.send({ type: 'ping', payload: { padding: 'x'.repeat(64 * 1024) } });
        expect((await socket.closed).code).toBe(1009);
        // Any client can send one: it must not be able to fill the server's stderr with stacks.
        expect(consoleErrors).not.toHaveBeenCalled();
      } finally {
        consoleErrors.mockRestore();
      }
      // Just under the limit is fine.
      const fits = await acked(jwt);
      fits.send({ type: 'ping', payload: { padding: 'x'.repeat(64 * 1024 - 100) } });
      expect((await fits.next('pong')).type).toBe('pong');
      expect((await httpData(t.url, MeDocument, {}, jwt)).me.id).toMatch(/^sec-/);
    });

    it('4401 when the token expires on an open connection, with no message needed to notice', async () => {
      const { token: jwt } = await newCustomer({ expiresIn: '2s' });
      const socket = await acked(jwt);
      const overClient = client(bearer(jwt));
      await overClient.connected;
      expect(await within(socket.closed, 5000, 'the expiry close')).toEqual({ code: 4401, reason: 'Token expired' });
      expect((await within(overClient.closed, 5000, 'the expiry close')).code).toBe(4401);
    });

    it('1001 for every socket when the server stops', async () => {
      const other = await startTestServer('embedded');
      const { token: jwt } = await newCustomer();
      const socket = await rawConnect(other.url);
      await socket.init(bearer(jwt));
      socket.send({ id: '1', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
      const overClient = wsConnect(other.url, bearer(jwt));
      await overClient.connected;
      await other.stop();
      expect((await socket.closed).code).toBe(1001);
      expect((await overClient.closed).code).toBe(1001);
    });
  });

  describe('in-band token refresh (ping with a token)', () => {
    it('moves the expiry forward: the refreshed connection outlives its first token while an unrefreshed one closes 4401', async () => {
      const user = await newCustomer({ expiresIn: '2s' });
      const fresh = await token({ sub: user.id, role: 'customer', name: 'Renamed' }, '1h');
      const refreshed = await acked(user.token);
      const control = await acked(user.token);
      refreshed.send({ id: 'live', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
      refreshed.send({ type: 'ping', payload: bearer(fresh) });
      // The pong comes once the new expiry is in effect.
      expect(await refreshed.next('pong')).toEqual({ type: 'pong', payload: bearer(fresh) });
      expect((await within(control.closed, 5000, 'the control connection to expire')).code).toBe(4401);
      // Still open, still delivering, and new operations see the refreshed claims.
      await httpData(t.url, SendNotificationDocument, { input: { userIds: [user.id], title: 'after expiry', body: 'still here' } }, admin);
      const event = await refreshed.next('next');
      expect(event).toMatchObject({ id: 'live', payload: { data: { notificationAdded: { title: 'after expiry' } } } });
      refreshed.send({ id: 'me', type: 'subscribe', payload: { query: ME } });
      expect(await refreshed.next('next')).toMatchObject({ id: 'me', payload: { data: { me: { id: user.id, displayName: 'Renamed' } } } });
      refreshed.send({ type: 'ping' });
      expect(await refreshed.next('pong')).toEqual({ type: 'pong' });
    });

    it('works from the graphql-ws client as the README shows', async () => {
      const user = await newCustomer({ expiresIn: '2s' });
      const fresh = await token({ sub: user.id, role: 'customer' }, '1h');
      const connected = deferred<WebSocket>();
      const pong = deferred();
      const closed = deferred<number>();
      const readme = createClient({
        url: t.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${user.token}` },
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => {},
        on: {
          connected: (socket) => connected.resolve(socket as WebSocket),
          pong: (received) => received && pong.resolve(),
          closed: (event) => closed.resolve((event as { code: number }).code),
        },
      });
      const control = client(bearer(user.token));
      const socket = await connected.promise;
      socket.send(JSON.stringify({ type: 'ping', payload: { authorization: `Bearer ${fresh}` } }));
      await pong.promise;
      expect((await within(control.closed, 5000, 'the control connection to expire')).code).toBe(4401);
      const result = await new Promise<unknown>((resolve, reject) => {
        readme.subscribe({ query: ME }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(result).toMatchObject({ data: { me: { id: user.id } } });
      await readme.dispose();
      expect(await closed.promise).toBe(1000);
    });

    it('closes 4403 for an invalid token or a token of another identity', async () => {
      const user = await newCustomer();
      const other = await newCustomer();
      const asAdmin = await token({ sub: user.id, role: 'admin' });
      const expired = await token({ sub: user.id, role: 'customer' }, Math.floor(Date.now() / 1000) - 60);
      for (const payload of [bearer('nonsense'), bearer(other.token), bearer(asAdmin), bearer(expired), { token: null }]) {
        const socket = await acked(user.token);
        socket.send({ type: 'ping', payload });
        expect((await socket.closed).code).toBe(4403);
      }
    });

    it('leaves pings without a token alone', async () => {
      const user = await newCustomer();
      const socket = await acked(user.token);
      socket.send({ type: 'ping', payload: { note: 'keep-alive' } });
      expect(await socket.next('pong')).toEqual({ type: 'pong', payload: { note: 'keep-alive' } });
    });
  });

  describe('HTTP hygiene', () => {
    const query = encodeURIComponent('{ __typename }');

    it('answers a body that is not a JSON object with 400 BAD_REQUEST saying why, and a batch as an array', async () => {
      const post = async (body: string) => {
        const response = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return { status: response.status, body: (await response.json()) as { errors?: { message: string; extensions?: { code?: string; originalError?: { message: string } } }[] } };
      };
      const cut = await post('{"query":');
      expect(cut.status).toBe(400);
      expect(cut.body.errors?.[0]?.message).toBe('POST body sent invalid JSON.');
      expect(cut.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(cut.body.errors?.[0]?.extensions?.originalError?.message).toMatch(/"\{"query":" is not valid JSON$/);
      for (const body of ['null', '42']) {
        const answer = await post(body);
        expect([answer.status, answer.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_REQUEST']);
      }
      const batch = await post('[{"query":"{ __typename }"},{"query":"{ __typename }"}]');
      expect(batch).toEqual({ status: 200, body: [{ data: { __typename: 'Query' } }, { data: { __typename: 'Query' } }] });
    });

    it('answers variables that do not fit their types as a request error (400, errors only, under either media type); a field error is 200 with data', async () => {
      const send = async (accept: string, variables: unknown) => {
        const response = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${admin}` },
          body: JSON.stringify({ query: print(SendNotificationDocument), variables }),
        });
        const body = (await response.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
        return { status: response.status, hasData: 'data' in body, codes: body.errors?.map((error) => [error.extensions?.['code'], error.extensions?.['field']]) };
      };
      const badKind = { input: { title: 't', body: 'b', kind: 'NOPE', userIds: ['sec-nobody'] } };
      const request = { hasData: false, codes: [['BAD_USER_INPUT', 'input.kind']] };
      expect(await send('application/graphql-response+json', badKind)).toEqual({ status: 400, ...request });
      expect(await send('application/json', badKind)).toEqual({ status: 400, ...request });
      expect(await send('application/graphql-response+json', {})).toEqual({ status: 400, hasData: false, codes: [['BAD_USER_INPUT', 'input']] });
      // The resolver refuses a blank title: the operation ran, so it is a field error with data.
      const blank = await send('application/graphql-response+json', { input: { title: '  ', body: 'b', userIds: ['sec-nobody'] } });
      expect(blank).toEqual({ status: 200, hasData: true, codes: [['BAD_USER_INPUT', 'input.title']] });
    });

    it('CSRF: a GET, form or multipart request without a preflight-forcing header is refused before it runs', async () => {
      const bare = await fetch(`${t.url}?query=${query}`, { headers: { accept: 'application/json' } });
      // Refused before it runs; without a token it is also unauthenticated, so it says so in contract terms.
      expect(bare.status).toBe(401);
      const refusal = (await bare.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(refusal.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(refusal.errors[0]!.message).toContain('CSRF');
      const preflightForcing: Record<string, string>[] = [{ 'x-graphql-yoga-csrf': '1' }, { 'apollo-require-preflight': 'true' }, { authorization: `Bearer ${admin}` }];
      for (const header of preflightForcing) {
        const allowed = await fetch(`${t.url}?query=${query}`, { headers: { accept: 'application/json', ...header } });
        expect(allowed.status).toBe(200);
        expect(await allowed.json()).toEqual({ data: { __typename: 'Query' } });
      }
      const form = new FormData();
      form.set('operations', JSON.stringify({ query: 'mutation { markAllRead { unreadCount } }' }));
      form.set('map', '{}');
      const multipart = await fetch(t.url, { method: 'POST', body: form });
      expect(multipart.status).toBe(401);
      const textPlain = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(textPlain.status).toBe(401);
    });

    it('CSRF: POST application/json and SSE from graphql-sse still work; a GET event stream needs the header', async () => {
      const user = await newCustomer();
      expect((await httpData(t.url, MeDocument, {}, user.token)).me.id).toBe(user.id);
      const sse = sseConnect(t.url, user.token);
      const stream = sse.subscribe(NotificationAddedDocument, {});
      const overWs = client(bearer(user.token));
      const live = overWs.subscribe(NotificationAddedDocument, {});
      await giveSseTimeToSubscribe();
      await httpData(t.url, SendNotificationDocument, { input: { userIds: [user.id], title: 'over sse', body: 'b' } }, admin);
      expect((await stream.next()).notificationAdded.title).toBe('over sse');
      expect((await live.next()).notificationAdded.title).toBe('over sse');
      stream.close();
      sse.dispose();

      const sub = encodeURIComponent(NOTIFICATION_ADDED);
      const refused = await fetch(`${t.url}?query=${sub}`, { headers: { accept: 'text/event-stream' } });
      expect(refused.status).toBe(401);
      const controller = new AbortController();
      const allowed = await fetch(`${t.url}?query=${sub}`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${user.token}` }, signal: controller.signal });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('content-type')).toContain('text/event-stream');
      controller.abort();
    });

    it('CORS: any origin without credentials by default outside production', async () => {
      const response = await fetch(t.url, {
        method: 'OPTIONS',
        headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(response.headers.get('access-control-allow-origin')).toBe('https://anywhere.example');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('CORS: only the listed origins, with credentials when configured', async () => {
      const strict = await startTestServer('embedded', { CORS_ORIGINS: 'https://app.example, https://admin.example', CORS_CREDENTIALS: 'true' });
      try {
        const ask = (origin: string) =>
          fetch(strict.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
        const listed = await ask('https://admin.example');
        expect(listed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
        expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
        expect(listed.headers.get('access-control-allow-headers')).toBe('authorization');
        for (const origin of ['https://evil.example', 'null', 'https://app.example.evil.example']) {
          const other = await ask(origin);
          expect(other.headers.get('access-control-allow-origin')).toBeNull();
          expect(other.headers.get('access-control-allow-credentials')).toBeNull();
        }
        const post = await fetch(strict.url, {
          method: 'POST',
          headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        expect(post.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await strict.stop();
      }
    });

    it('CORS: a wildcard with credentials, or a malformed origin, stops the server at start', () => {
      expect(() => loadConfig({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' })).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_CREDENTIALS: 'true' })).toThrow(/CORS_CREDENTIALS/);
      expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example/' })).toThrow(/CORS_ORIGINS/);
      expect(() => loadConfig({ CORS_ORIGINS: 'app.example' })).toThrow(/CORS_ORIGINS/);
      expect(loadConfig({ CORS_ORIGINS: 'https://app.example', CORS_CREDENTIALS: 'true' }).cors).toEqual({ origins: ['https://app.example'], credentials: true });
      const production = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });
      expect(production.cors).toEqual({ origins: [], credentials: false });
      expect(production.introspection).toBe(false);
      expect(production.graphiql).toBe(false);
      for (const name of ['MAX_QUERY_DEPTH', 'MAX_QUERY_FIELDS', 'MAX_QUERY_COST', 'BATCH_LIMIT', 'MAX_BODY_BYTES', 'MAX_CONNECTIONS_PER_USER', 'WS_INIT_TIMEOUT_MS', 'INTROSPECTION']) {
        expect(() => loadConfig({ [name]: 'lots' })).toThrow(name);
      }
      expect(loadConfig({}).limits).toMatchObject({ maxDepth: 10, maxFields: 200, connectionsPerUser: 20, subscriptionsPerConnection: 100, wsInitTimeoutMs: 3000, maxBodyBytes: 1024 * 1024 });
    });

    it('refuses a body over MAX_BODY_BYTES with 413, with or without a Content-Length', async () => {
      const small = await startTestServer('embedded', { MAX_BODY_BYTES: '2048' });
      try {
        const body = JSON.stringify({ query: `{ __typename }`, variables: { padding: 'x'.repeat(4096) } });
        const sized = await fetch(small.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(sized.status).toBe(413);
        const chunked = await fetch(small.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: new Blob([body]).stream(),
          duplex: 'half',
        } as RequestInit);
        expect(chunked.status).toBe(413);
        const fits = await fetch(small.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
        expect(await fits.json()).toEqual({ data: { __typename: 'Query' } });
      } finally {
        await small.stop();
      }
    });

    it('masks internal errors (a database constraint violation) on every transport: no SQL, no stack', async () => {
      const user = await newCustomer();
      await httpData(t.url, MeDocument, {}, user.token);
      // A constraint the API does not know about: the insert fails inside PostgreSQL.
      await t.sql(`alter table notifications add constraint security_test_no_boom check (title <> 'boom')`);
      try {
        const input = { input: { userIds: [user.id], title: 'boom', body: 'b' } };
        const overHttp = await httpRequest(t.url, SendNotificationDocument, input, admin);
        const socket = await acked(admin);
        socket.send({ id: 'm', type: 'subscribe', payload: { query: print(SendNotificationDocument), variables: input } });
        const overWs = await socket.next('next');
        for (const text of [JSON.stringify(overHttp), JSON.stringify(overWs)]) {
          expect(text).toContain('Unexpected error.');
          expect(text).not.toMatch(/constraint|security_test|violat|insert|notifications_|\bat \w|\.ts:\d|stack/i);
        }
        expect(overHttp.errors![0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
        const [row] = await t.sql<{ count: number }>(`select count(*)::int as count from notifications where title = 'boom'`);
        expect(row!.count).toBe(0);
      } finally {
        await t.sql('alter table notifications drop constraint security_test_no_boom');
      }
    });

    it('masks an internal error met while an event is executed, on graphql-ws and SSE alike, and keeps both streams', async () => {
      const user = await newCustomer();
      await httpData(t.url, MeDocument, {}, user.token);
      const overWs = client(bearer(user.token)).subscribe(NotificationAddedDocument, {});
      const sse = sseConnect(t.url, user.token);
      const overSse = sse.subscribe(NotificationAddedDocument, {});
      // Both live once a probe reaches each (SSE has no acknowledgement); events after that are told apart by content.
      await eventually(async () => {
        await t.sql(`insert into notifications (user_id, title) values ($1, 'probe')`, [user.id]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        return overWs.pending > 0 && overSse.pending > 0 ? true : undefined;
      }, 'both subscriptions live');
      const nextFailure = async (subscription: typeof overWs) => {
        for (;;) {
          const result = await subscription.nextResult();
          if (result.errors) return result;
        }
      };
      const nextTitle = async (subscription: typeof overWs) => {
        for (;;) {
          const title = (await subscription.next()).notificationAdded.title;
          if (title !== 'probe') return title;
        }
      };
      // A column the schema needs is gone (as a broken migration might leave it): Notification.body resolves to nothing.
      await t.sql('alter table notifications rename column body to security_test_body');
      try {
        await t.sql(`insert into notifications (user_id, title) values ($1, 'broken')`, [user.id]);
        for (const result of [await nextFailure(overWs), await nextFailure(overSse)]) {
          expect(result.errors?.[0]?.message).toBe('Unexpected error.');
          expect(result.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
          expect(JSON.stringify(result)).not.toMatch(/non-nullable|security_test|\bat \w|\.ts:\d|stack/i);
        }
      } finally {
        await t.sql('alter table notifications rename column security_test_body to body');
      }
      await t.sql(`insert into notifications (user_id, title) values ($1, 'mended')`, [user.id]);
      expect(await nextTitle(overWs)).toBe('mended');
      expect(await nextTitle(overSse)).toBe('mended');
      overSse.close();
      sse.dispose();
    });

    it('answers a token failure as UNAUTHENTICATED without detail from inside the server', async () => {
      const result = await httpRequest(t.url, MeDocument, {}, 'not-a-jwt');
      expect(errorCode(result)).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(result)).not.toMatch(/\.ts:\d|\bat \w+ \(/);
    });
  });
});
