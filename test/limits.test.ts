import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarkAllReadDocument, MeDocument, NotificationAddedDocument, SendNotificationDocument } from './generated/graphql.js';
import { httpData, sseConnect, wsConnect, type GraphQLErrorShape, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { postSse } from './support/raw-sse.js';
import { bearer, rawConnect, type RawSocket, type WireMessage } from './support/raw-ws.js';
import { backendEnv, BACKENDS, startServerProcess, startTestServer, token, type ServerProcess, type TestServer } from './support/server.js';
import { newPeople } from './support/world.js';

const NOTIFICATION_ADDED = print(NotificationAddedDocument);

interface Answer {
  status: number;
  body: { data?: unknown; errors?: GraphQLErrorShape[] } | { data?: unknown; errors?: GraphQLErrorShape[] }[];
}

async function post(url: string, body: unknown, jwt: string | null): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

function messages(answer: Answer): string[] {
  const results = Array.isArray(answer.body) ? answer.body : [answer.body];
  return results.flatMap((result) => (result.errors ?? []).map((error) => error.message));
}

/** The operation's answer over graphql-ws: its errors (an `error` message) or its first result. */
async function overWs(socket: RawSocket, id: string, query: string): Promise<WireMessage> {
  socket.send({ id, type: 'subscribe', payload: { query } });
  for (;;) {
    const message = await socket.next();
    if (message.id === id && (message.type === 'error' || message.type === 'next')) return message;
  }
}

/** The operation's answer over SSE (Yoga answers a refused operation with its errors). */
async function overSse(url: string, query: string, jwt: string): Promise<string> {
  const controller = new AbortController();
  const response = await postSse(url, jwt, { query }, controller.signal);
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  return text;
}

const replies = (levels: number) => `${'replyTo { '.repeat(levels)}id${' }'.repeat(levels)}`;

describe('operation limits (every transport)', () => {
  let t: TestServer;
  let jwt: string;
  let socket: RawSocket;

  beforeAll(async () => {
    t = await startTestServer('embedded');
    jwt = await token({ sub: 'limits-user', role: 'customer' });
    socket = await rawConnect(t.url);
    await socket.init(bearer(jwt));
  });

  afterAll(async () => {
    socket?.close();
    await t?.stop();
  });

  it('depth: 10 levels pass, 11 are refused over HTTP, graphql-ws and SSE', async () => {
    // conversation > messages > edges > node > replyTo^n > id: depth 5 + n.
    const query = (n: number) => `query Deep { conversation(id: "1") { messages { edges { node { ${replies(n)} } } } } }`;
    expect(messages(await post(t.url, { query: query(5) }, jwt))).toEqual([]);
    const refused = await post(t.url, { query: query(6) }, jwt);
    expect(refused.status).toBe(400);
    expect(messages(refused)).toEqual(['Syntax Error: Query depth limit of 10 exceeded, found 11.']);

    // messageAdded > replyTo^n > id: depth 2 + n.
    const subscription = (n: number) => `subscription { messageAdded(conversationId: "1") { ${replies(n)} } }`;
    const deepWs = await overWs(socket, 'deep', subscription(9));
    expect(deepWs).toMatchObject({ type: 'error', payload: [{ message: 'Syntax Error: Query depth limit of 10 exceeded, found 11.' }] });
    // Depth 10 passes validation (and then answers as any unknown conversation does).
    const fine = await overWs(socket, 'fine', subscription(8));
    expect(JSON.stringify(fine)).not.toContain('depth');
    expect(await overSse(t.url, subscription(9), jwt)).toContain('Query depth limit of 10 exceeded');
  });

  it('fields: 200 selected pass, 201 are refused, fragments counted each time they are spread', async () => {
    const ids = (n: number) => 'id '.repeat(n);
    expect(messages(await post(t.url, { query: `{ me { ${ids(199)} } }` }, jwt))).toEqual([]);
    expect(messages(await post(t.url, { query: `query Wide { me { ${ids(200)} } }` }, jwt))).toEqual(['Operation Wide selects more than 200 fields']);
    // 4 spreads of a 50-field fragment, plus `me`: 201.
    const spread = `query Spread { me { ...F ...F ...F ...F } } fragment F on User { ${ids(50)} }`;
    expect(messages(await post(t.url, { query: spread }, jwt))).toEqual(['Operation Spread selects more than 200 fields']);
    const wide = await overWs(socket, 'wide', `subscription Wide { notificationAdded { ${ids(200)} } }`);
    expect(wide).toMatchObject({ type: 'error', payload: [{ message: 'Operation Wide selects more than 200 fields' }] });
    expect(await overSse(t.url, `subscription Wide { notificationAdded { ${ids(200)} } }`, jwt)).toContain('selects more than 200 fields');
  });

  it('aliases: 15 pass, 16 are refused', async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect(messages(await post(t.url, { query: aliased(15) }, jwt))).toEqual([]);
    expect(messages(await post(t.url, { query: aliased(16) }, jwt))).toEqual(['Syntax Error: Aliases limit of 15 exceeded, found 16.']);
    expect(await overWs(socket, 'aliases', aliased(16))).toMatchObject({ type: 'error', payload: [{ message: 'Syntax Error: Aliases limit of 15 exceeded, found 16.' }] });
  });

  it('cost: one full page of 100 passes, pages nested in pages are refused', async () => {
    const page = `{ notifications(first: 100) { edges { cursor node { id kind priority title body data read readAt createdAt } } pageInfo { hasNextPage endCursor } } }`;
    expect(messages(await post(t.url, { query: page }, jwt))).toEqual([]);
    const nested = `{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { id body } } } } } } }`;
    const [message] = messages(await post(t.url, { query: nested }, jwt));
    expect(message).toMatch(/^Syntax Error: Query Cost limit of 50000 exceeded, found \d+/);
    expect(await overWs(socket, 'cost', nested)).toMatchObject({ type: 'error', payload: [{ message }] });
  });

  it('tokens and directives are bounded too', async () => {
    const variables = Array.from({ length: 600 }, (_, i) => `$v${i}: Int`).join(', ');
    expect(messages(await post(t.url, { query: `query Q(${variables}) { __typename }` }, jwt))).toEqual(['Syntax Error: Token limit of 2000 exceeded.']);
    expect(await overWs(socket, 'tokens', `query Q(${variables}) { __typename }`)).toMatchObject({
      type: 'error',
      payload: [{ message: 'Syntax Error: Token limit of 2000 exceeded.' }],
    });
    const directives = (n: number) => `{ ${'__typename @include(if: true) '.repeat(n)} }`;
    expect(messages(await post(t.url, { query: directives(50) }, jwt))).toEqual([]);
    expect(messages(await post(t.url, { query: directives(51) }, jwt))).toEqual(['Syntax Error: Directives limit of 50 exceeded, found 51.']);
  });

  it('batched HTTP requests: up to BATCH_LIMIT (10) operations, more are refused with 413', async () => {
    const one = { query: '{ me { id } }' };
    const batch = await post(t.url, [one, one], jwt);
    expect(batch.body).toEqual([{ data: { me: { id: 'limits-user' } } }, { data: { me: { id: 'limits-user' } } }]);
    expect((await post(t.url, Array.from({ length: 10 }, () => one), jwt)).status).toBe(200);
    const tooMany = await post(t.url, Array.from({ length: 11 }, () => one), jwt);
    expect(tooMany.status).toBe(413);
    expect(messages(tooMany)).toEqual(['Batching is limited to 10 operations per request.']);
  });

  it('mutations run over graphql-ws like over HTTP', async () => {
    const answer = await overWs(socket, 'mutation', print(MarkAllReadDocument));
    expect(answer).toMatchObject({ type: 'next', payload: { data: { markAllRead: { unreadCount: 0 } } } });
  });

  it('introspection and field suggestions are on outside production (GraphiQL needs them)', async () => {
    const answer = await post(t.url, { query: '{ __schema { queryType { name } } }' }, jwt);
    expect(answer.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    expect(messages(await post(t.url, { query: '{ mee { id } }' }, jwt))[0]).toContain('Did you mean "me"?');
    // A browser opening the URL gets GraphiQL: no CSRF header is needed for the page itself.
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });
});

describe('introspection and GraphiQL switched off (INTROSPECTION=false, GRAPHIQL=false, as in production)', () => {
  let t: TestServer;
  let jwt: string;

  beforeAll(async () => {
    t = await startTestServer('embedded', { INTROSPECTION: 'false', GRAPHIQL: 'false' });
    jwt = await token({ sub: 'closed-user', role: 'customer' });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('refuses introspection over HTTP and graphql-ws, hides field suggestions, serves no GraphiQL', async () => {
    const schemaQuery = '{ __schema { types { name } } }';
    const [message] = messages(await post(t.url, { query: schemaQuery }, jwt));
    expect(message).toMatch(/introspection/i);
    expect(messages(await post(t.url, { query: '{ __type(name: "User") { name } }' }, null))[0]).toMatch(/introspection/i);
    const socket = await rawConnect(t.url);
    await socket.init(bearer(jwt));
    const overSocket = await overWs(socket, 'schema', schemaQuery);
    expect(overSocket.type).toBe('error');
    expect((overSocket.payload as GraphQLErrorShape[])[0]!.message).toBe(message);
    socket.close();
    const suggestion = messages(await post(t.url, { query: '{ mee { id } }' }, jwt))[0];
    expect(suggestion).toContain('Cannot query field "mee"');
    expect(suggestion).not.toContain('Did you mean');
    expect(messages(await post(t.url, { query: '{ __typename }' }, jwt))).toEqual([]);
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });
});

describe.each(BACKENDS)('connection and subscription caps on %s', (backend) => {
  let t: TestServer;
  const sockets: RawSocket[] = [];
  const clients: WsConnection[] = [];
  const newUser = newPeople(() => t, `cap-${backend}`).customer;

  async function open(jwt: string): Promise<RawSocket> {
    const socket = await rawConnect(t.url);
    sockets.push(socket);
    socket.send({ type: 'connection_init', payload: bearer(jwt) });
    return socket;
  }

  async function acked(jwt: string): Promise<RawSocket> {
    const socket = await open(jwt);
    await socket.next('connection_ack');
    return socket;
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(clients.map((client) => client.dispose()));
    await t?.stop();
  });

  it('closes a user’s 21st connection with 4429 and a reason; SSE streams count; closing one frees a slot', async () => {
    const user = await newUser();
    const open20 = await Promise.all(Array.from({ length: 20 }, () => acked(user.token)));
    const extra = await open(user.token);
    expect(await extra.closed).toEqual({ code: 4429, reason: 'Too many open connections for this user' });
    const viaClient = wsConnect(t.url, bearer(user.token));
    clients.push(viaClient);
    expect((await viaClient.closed).code).toBe(4429);

    const sse = sseConnect(t.url, user.token);
    const stream = sse.subscribe(NotificationAddedDocument, {});
    const refused = await stream.nextResult();
    expect(refused.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED', limit: 20 } }]);
    await stream.ended.promise;
    sse.dispose();

    // Someone else is not affected.
    await acked((await newUser()).token);

    open20[0]!.close();
    await open20[0]!.closed;
    const replacement = await eventually(async () => {
      const socket = await open(user.token);
      const first = await Promise.race([socket.next('connection_ack').then(() => 'ack'), socket.closed.then(() => 'closed')]);
      return first === 'ack' ? socket : undefined;
    }, 'a freed slot');
    expect(replacement.socket.readyState).toBe(replacement.socket.OPEN);
    expect((await open(user.token).then((socket) => socket.closed)).code).toBe(4429);
  });

  it('an SSE stream holds a slot while it runs and gives it back when it ends', async () => {
    const user = await newUser();
    await Promise.all(Array.from({ length: 19 }, () => acked(user.token)));
    const sse = sseConnect(t.url, user.token);
    const stream = sse.subscribe(NotificationAddedDocument, {});
    // The 20th slot is the stream's: the next connection is one too many.
    const refused = await eventually(async () => {
      const socket = await open(user.token);
      const first = await Promise.race([socket.next('connection_ack').then(() => 'ack' as const), socket.closed.then(({ code }) => code)]);
      if (first === 'ack') {
        socket.close();
        await socket.closed;
        return undefined;
      }
      return first;
    }, 'the stream to take its slot');
    expect(refused).toBe(4429);
    stream.close();
    sse.dispose();
    await eventually(async () => {
      const socket = await open(user.token);
      const first = await Promise.race([socket.next('connection_ack').then(() => 'ack'), socket.closed.then(() => 'closed')]);
      return first === 'ack' ? true : undefined;
    }, 'the stream to give its slot back');
  });

  it('gives back everything an SSE stream held when its client leaves while it is still being set up', async () => {
    const user = await newUser();
    const metric = async () => {
      const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
      return Number(/^realtime_pubsub_streams (\d+)$/m.exec(text)![1]);
    };
    const before = await metric();
    for (let i = 0; i < 30; i += 1) {
      const controller = new AbortController();
      const request = fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ query: NOTIFICATION_ADDED }),
        signal: controller.signal,
      }).catch(() => {});
      // Abort at every stage of the set-up, from "not yet read" to "streaming".
      await new Promise((resolve) => setTimeout(resolve, i));
      controller.abort();
      await request;
    }
    await eventually(async () => ((await metric()) === before ? true : undefined), 'the PubSub subscriptions of aborted streams to end');
    const all = await Promise.all(Array.from({ length: 20 }, () => acked(user.token)));
    expect(all).toHaveLength(20);
  });

  it('answers a 101st running subscription on one connection with RATE_LIMITED; the connection stays open', async () => {
    const user = await newUser();
    const admin = await token({ sub: `cap-admin-${backend}`, role: 'admin' });
    const socket = await acked(user.token);
    for (let i = 0; i < 100; i += 1) socket.send({ id: `s${i}`, type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
    socket.send({ id: 'over', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
    const refused = await socket.next('error');
    expect(refused).toMatchObject({ id: 'over', payload: [{ extensions: { code: 'RATE_LIMITED', limit: 100 } }] });
    expect((refused.payload as GraphQLErrorShape[])[0]!.extensions!['retryAfterMs']).toBeGreaterThan(0);
    // Completing one makes room, on the same connection.
    socket.send({ id: 's0', type: 'complete' });
    socket.send({ id: 'again', type: 'subscribe', payload: { query: NOTIFICATION_ADDED } });
    await httpData(t.url, MeDocument, {}, user.token);
    await eventually(async () => {
      await httpData(t.url, SendNotificationDocument, { input: { userIds: [user.id], title: 'room', body: 'b' } }, admin);
      for (;;) {
        const message = await socket.next();
        if (message.type === 'error') throw new Error(`unexpected error: ${JSON.stringify(message)}`);
        if (message.id === 'again') return message;
      }
    }, 'an event on the new subscription');
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });
});

describe('the connection cap across two server processes (PostgreSQL + Redis)', () => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  const processes: ServerProcess[] = [];
  const sockets: RawSocket[] = [];

  async function attempt(url: string, jwt: string): Promise<{ socket: RawSocket; outcome: 'ack' | number }> {
    const socket = await rawConnect(url);
    sockets.push(socket);
    socket.send({ type: 'connection_init', payload: bearer(jwt) });
    const outcome = await Promise.race([socket.next('connection_ack').then(() => 'ack' as const), socket.closed.then(({ code }) => code)]);
    return { socket, outcome };
  }

  beforeAll(async () => {
    ({ env, cleanup } = await backendEnv('postgres+redis'));
    Object.assign(env, { PRESENCE_HEARTBEAT_MS: '100', PRESENCE_TTL_MS: '1000' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(processes.map((process) => process.kill('SIGKILL')));
    await cleanup?.();
  });

  it('counts a user’s connections cluster-wide, and frees a dead process’s slots after the TTL', async () => {
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    processes.push(a, b);
    const jwt = await token({ sub: 'cluster-cap', role: 'customer' });
    const onA = await Promise.all(Array.from({ length: 10 }, () => attempt(a.url, jwt)));
    const onB = await Promise.all(Array.from({ length: 10 }, () => attempt(b.url, jwt)));
    expect([...onA, ...onB].map(({ outcome }) => outcome)).toEqual(Array.from({ length: 20 }, () => 'ack'));
    expect((await attempt(a.url, jwt)).outcome).toBe(4429);
    expect((await attempt(b.url, jwt)).outcome).toBe(4429);

    // One closed on B: a slot is free on A.
    onB[0]!.socket.close();
    await onB[0]!.socket.closed;
    await eventually(async () => ((await attempt(a.url, jwt)).outcome === 'ack' ? true : undefined), 'the slot freed on B to be usable on A');
    expect((await attempt(a.url, jwt)).outcome).toBe(4429);

    // B dies without closing its 9 sockets: after the TTL its slots lapse.
    await b.kill('SIGKILL');
    let opened = 0;
    await eventually(async () => {
      const { outcome } = await attempt(a.url, jwt);
      if (outcome === 'ack') opened += 1;
      return opened === 9 ? true : undefined;
    }, 'the dead process’s slots to lapse', 15_000);
    expect((await attempt(a.url, jwt)).outcome).toBe(4429);
  });
});
