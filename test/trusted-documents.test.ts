import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type SubscribePayload } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { MeDocument, SendNotificationDocument, UnreadCountChangedDocument, UnreadNotificationCountDocument } from './generated/graphql.js';
import type { GraphQLErrorShape } from './support/clients.js';
import { deferred, within } from './support/deferred.js';
import { bearer, rawConnect, type RawSocket, type WireMessage } from './support/raw-ws.js';
import { BACKENDS, startTestServer, token, type BackendName, type TestServer } from './support/server.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const TEXT = {
  me: print(MeDocument),
  unreadCount: print(UnreadNotificationCountDocument),
  send: print(SendNotificationDocument),
  unreadChanged: print(UnreadCountChangedDocument),
  introspection: 'query Schema { __schema { queryType { name } } }',
  // conversation > messages > edges > node > replyTo^6 > id: depth 11, one over MAX_QUERY_DEPTH.
  deep: `query Deep { conversation(id: "1") { messages { edges { node { ${'replyTo { '.repeat(6)}id${' }'.repeat(6)} } } } } }`,
};
type Name = keyof typeof TEXT;
const ID = Object.fromEntries(Object.entries(TEXT).map(([name, text]) => [name, sha256(text)])) as Record<Name, string>;
/** A document no file lists. */
const UNKNOWN_ID = sha256('query Unlisted { me { id displayName } }');

/** A persisted-documents.json as the client preset writes it (`sha256:<hex>` ids), with one bare id: both forms are accepted. */
async function writeDocuments(documents: Record<string, unknown> = Object.fromEntries(Object.entries(TEXT).map(([name, text]) => [name === 'me' ? ID.me : `sha256:${ID[name as Name]}`, text]))) {
  const dir = await mkdtemp(join(tmpdir(), 'rt-trusted-'));
  const path = join(dir, 'persisted-documents.json');
  await writeFile(path, JSON.stringify(documents));
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: GraphQLErrorShape[] };
}

async function post(url: string, body: unknown, jwt: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

async function get(url: string, params: Record<string, unknown>, jwt: string): Promise<Answer> {
  const search = new URLSearchParams(Object.entries(params).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
  const response = await fetch(`${url}?${search}`, { headers: { authorization: `Bearer ${jwt}` } });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const code = (answer: { errors?: GraphQLErrorShape[] }) => answer.errors?.[0]?.extensions?.['code'];

/** The first result of an SSE request (Yoga streams a refusal as one result too), with the HTTP status. */
async function firstSseResult(url: string, body: unknown, jwt: string): Promise<Answer> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${jwt}` },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const event = /event: next\ndata: (.*)\n\n/.exec(text);
      if (event) return { status: response.status, body: JSON.parse(event[1]!) as Answer['body'] };
      const { value, done } = await within(reader.read(), 10_000, 'an SSE event');
      if (done) throw new Error(`stream ended without a result: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    controller.abort();
  }
}

/** The operation's first answer over graphql-ws: its `next` or its `error`. */
async function overWs(socket: RawSocket, id: string, payload: Record<string, unknown>): Promise<WireMessage> {
  socket.send({ id, type: 'subscribe', payload });
  for (;;) {
    const message = await socket.next();
    if (message.id === id && (message.type === 'error' || message.type === 'next')) return message;
  }
}

const apollo = (id: string) => ({ persistedQuery: { version: 1, sha256Hash: id } });

describe.each(BACKENDS)('trusted documents (%s)', (backend: BackendName) => {
  let t: TestServer;
  let documents: Awaited<ReturnType<typeof writeDocuments>>;
  let customer: { id: string; token: string };
  let admin: string;
  const sockets: RawSocket[] = [];

  /** A user provisioned by a first request, by id as every request here must be. */
  async function provisioned(id: string, role: 'customer' | 'admin') {
    const jwt = await token({ sub: id, role, name: `Name of ${id}` });
    expect((await post(t.url, { documentId: ID.me }, jwt)).body).toMatchObject({ data: { me: { id } } });
    return { id, token: jwt };
  }

  async function unreadCount(): Promise<unknown> {
    const { body } = await post(t.url, { documentId: ID.unreadCount }, customer.token);
    return body.data?.['unreadNotificationCount'];
  }

  const notifyCustomer = (title: string) => ({ input: { userIds: [customer.id], title, body: 'trusted' } });

  async function socketOf(jwt: string): Promise<RawSocket> {
    const socket = await rawConnect(t.url);
    sockets.push(socket);
    await socket.init(bearer(jwt));
    return socket;
  }

  beforeAll(async () => {
    documents = await writeDocuments();
    t = await startTestServer(backend, { TRUSTED_DOCUMENTS: documents.path });
    customer = await provisioned(`td-${backend}-customer`, 'customer');
    admin = (await provisioned(`td-${backend}-admin`, 'admin')).token;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await t?.stop();
    await documents?.remove();
  });

  it('HTTP POST runs a document named by documentId or by Apollo’s persistedQuery hash, its variables as usual', async () => {
    for (const body of [{ documentId: `sha256:${ID.me}` }, { documentId: ID.me }, { extensions: apollo(ID.me) }, { query: '', documentId: ID.me }]) {
      expect(await post(t.url, body, customer.token)).toEqual({ status: 200, body: { data: { me: expect.objectContaining({ id: customer.id }) } } });
    }
    const before = Number(await unreadCount());
    const sent = await post(t.url, { documentId: `sha256:${ID.send}`, variables: notifyCustomer('By id'), operationName: 'SendNotification' }, admin);
    expect(sent).toEqual({ status: 200, body: { data: { sendNotification: 1 } } });
    expect(await unreadCount()).toBe(before + 1);
  });

  it('GET runs a query named by ?documentId= or ?extensions=, and a mutation over GET stays refused', async () => {
    for (const params of [{ documentId: `sha256:${ID.unreadCount}` }, { extensions: apollo(ID.unreadCount) }]) {
      const answer = await get(t.url, params, customer.token);
      expect(answer).toMatchObject({ status: 200, body: { data: { unreadNotificationCount: expect.any(Number) } } });
    }
    const before = await unreadCount();
    const viaGet = await get(t.url, { documentId: ID.send, variables: notifyCustomer('Via GET') }, admin);
    expect(viaGet.status).toBe(405);
    expect(await unreadCount()).toBe(before);
  });

  it('refuses an unknown id with PERSISTED_QUERY_NOT_FOUND and text with PERSISTED_QUERY_ONLY, and runs neither', async () => {
    const before = await unreadCount();
    for (const body of [{ documentId: UNKNOWN_ID }, { extensions: apollo(UNKNOWN_ID) }, { documentId: 'not-an-id' }, {}]) {
      const answer = await post(t.url, body, customer.token);
      expect(answer.status).toBe(404);
      expect(code(answer.body)).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(answer.body.data).toBeUndefined();
    }
    const variables = notifyCustomer('Sent as text');
    // Text alone, and text beside the id of that very document: only ids name documents here.
    for (const body of [{ query: TEXT.send, variables }, { query: TEXT.send, documentId: ID.send, variables }, { query: TEXT.send, extensions: apollo(ID.send), variables }]) {
      const answer = await post(t.url, body, admin);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } })] });
    }
    const textOverGet = await get(t.url, { query: TEXT.unreadCount }, customer.token);
    expect([textOverGet.status, code(textOverGet.body)]).toEqual([400, 'PERSISTED_QUERY_ONLY']);
    expect(await unreadCount()).toBe(before);
  });

  it('applies the operation limits to a trusted document’s text', async () => {
    const answer = await post(t.url, { documentId: ID.deep }, customer.token);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.map((error) => error.message)).toEqual(['Syntax Error: Query depth limit of 10 exceeded, found 11.']);
    const socket = await socketOf(customer.token);
    expect(await overWs(socket, 'deep', { query: '', documentId: ID.deep })).toMatchObject({
      type: 'error',
      payload: [{ message: 'Syntax Error: Query depth limit of 10 exceeded, found 11.' }],
    });
  });

  it('SSE streams a subscription named by id, and refuses an unknown id and text', async () => {
    expect(await firstSseResult(t.url, { documentId: `sha256:${ID.unreadChanged}` }, customer.token)).toMatchObject({
      status: 200,
      body: { data: { unreadCountChanged: expect.any(Number) } },
    });
    const unknown = await firstSseResult(t.url, { documentId: UNKNOWN_ID }, customer.token);
    expect([unknown.status, code(unknown.body)]).toEqual([404, 'PERSISTED_QUERY_NOT_FOUND']);
    const text = await firstSseResult(t.url, { query: TEXT.unreadChanged }, customer.token);
    expect([text.status, code(text.body)]).toEqual([400, 'PERSISTED_QUERY_ONLY']);

    // graphql-sse's own client, with the Apollo form (its `query` is a required string: empty).
    const client = createSseClient({ url: t.url, headers: { authorization: `Bearer ${customer.token}` }, retryAttempts: 0 });
    const first = deferred<unknown>();
    const cancel = client.subscribe({ query: '', extensions: apollo(ID.unreadChanged) }, { next: (result) => first.resolve(result), error: first.reject, complete: () => {} });
    try {
      expect(await within(first.promise, 10_000, 'the first SSE result')).toEqual({ data: { unreadCountChanged: expect.any(Number) } });
    } finally {
      cancel();
      client.dispose();
    }
  });

  it('graphql-ws runs a document named by id with `query` empty or absent; refusals are `error` messages and the connection stays open', async () => {
    const socket = await socketOf(customer.token);
    expect(await overWs(socket, 'empty', { query: '', documentId: `sha256:${ID.unreadChanged}` })).toMatchObject({
      type: 'next',
      payload: { data: { unreadCountChanged: expect.any(Number) } },
    });
    expect(await overWs(socket, 'absent', { documentId: ID.me })).toMatchObject({ type: 'next', payload: { data: { me: { id: customer.id } } } });
    expect(await overWs(socket, 'null', { query: null, extensions: apollo(ID.me) })).toMatchObject({ type: 'next', payload: { data: { me: { id: customer.id } } } });
    expect(await overWs(socket, 'apollo', { query: '', extensions: apollo(ID.unreadCount) })).toMatchObject({
      type: 'next',
      payload: { data: { unreadNotificationCount: expect.any(Number) } },
    });

    const notFound = { type: 'error', payload: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })] };
    expect(await overWs(socket, 'unknown', { query: '', documentId: UNKNOWN_ID })).toEqual({ id: 'unknown', ...notFound });
    expect(await overWs(socket, 'unknown-apollo', { extensions: apollo(UNKNOWN_ID) })).toEqual({ id: 'unknown-apollo', ...notFound });
    expect(await overWs(socket, 'nothing', {})).toEqual({ id: 'nothing', ...notFound });
    expect(await overWs(socket, 'text', { query: TEXT.me })).toEqual({
      id: 'text',
      type: 'error',
      payload: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } })],
    });

    // A mutation sent as text writes nothing; the same one by id does, on the same connection.
    const adminSocket = await socketOf(admin);
    const before = Number(await unreadCount());
    const variables = notifyCustomer('Over graphql-ws');
    expect(await overWs(adminSocket, 'send-text', { query: TEXT.send, variables })).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'PERSISTED_QUERY_ONLY' } }] });
    expect(await unreadCount()).toBe(before);
    expect(await overWs(adminSocket, 'send-id', { query: '', documentId: ID.send, variables })).toMatchObject({ type: 'next', payload: { data: { sendNotification: 1 } } });
    expect(await unreadCount()).toBe(before + 1);

    // After every refusal the connection still serves: nothing closed it.
    expect(await overWs(socket, 'after', { documentId: ID.me })).toMatchObject({ type: 'next', payload: { data: { me: { id: customer.id } } } });
    expect(socket.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('graphql-ws’s own client names documents by id too', async () => {
    const client = createWsClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: bearer(customer.token), retryAttempts: 0 });
    try {
      const payload: SubscribePayload & { documentId: string } = { query: '', documentId: `sha256:${ID.me}` };
      const results = client.iterate(payload);
      expect((await results.next()).value).toEqual({ data: { me: expect.objectContaining({ id: customer.id }) } });
      const refused = client.iterate({ query: TEXT.me });
      await expect(refused.next()).rejects.toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } })]);
    } finally {
      await client.dispose();
    }
  });

  it('turns GraphiQL and introspection off unless set explicitly', async () => {
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.status).not.toBe(200);
    expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
    const introspection = await post(t.url, { documentId: ID.introspection }, customer.token);
    expect(introspection.body.data).toBeUndefined();
    expect(introspection.body.errors?.[0]?.message).toMatch(/introspection has been disabled/);
  });
});

describe('trusted documents with GRAPHIQL and INTROSPECTION set', () => {
  let t: TestServer;
  let documents: Awaited<ReturnType<typeof writeDocuments>>;

  beforeAll(async () => {
    documents = await writeDocuments();
    t = await startTestServer('embedded', { TRUSTED_DOCUMENTS: documents.path, GRAPHIQL: 'true', INTROSPECTION: 'true' });
  });

  afterAll(async () => {
    await t?.stop();
    await documents?.remove();
  });

  it('serves GraphiQL and answers a trusted introspection document', async () => {
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('graphiql');
    const jwt = await token({ sub: 'td-introspecting', role: 'customer' });
    expect(await post(t.url, { documentId: ID.introspection }, jwt)).toEqual({ status: 200, body: { data: { __schema: { queryType: { name: 'Query' } } } } });
  });
});

describe('TRUSTED_DOCUMENTS at start', () => {
  const removers: (() => Promise<void>)[] = [];
  afterAll(() => Promise.all(removers.map((remove) => remove())));

  async function fileWith(content: Record<string, unknown> | unknown[] | string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'rt-trusted-config-'));
    removers.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'persisted-documents.json');
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  it.each([
    ['not JSON', '{"abc": '],
    ['an array', [TEXT.me]],
    ['an empty object', {}],
    ['a document that is not text', { [ID.me]: { query: TEXT.me } }],
    ['an id that is not the sha256 of its text', { [`sha256:${ID.me}`]: TEXT.me, [ID.me.replace(/^./, (c) => (c === '0' ? '1' : '0'))]: TEXT.unreadCount }],
  ])('stops with an error naming the variable for a file holding %s', async (_what, content) => {
    const path = await fileWith(content);
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: path })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: path })).toThrow(/^Invalid configuration: TRUSTED_DOCUMENTS /);
  });

  it('stops for a file that is not there', () => {
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: join(tmpdir(), 'no-such-dir', 'persisted-documents.json') })).toThrow(/TRUSTED_DOCUMENTS cannot be read/);
  });

  it('loads ids in both forms; GraphiQL and introspection default off, on when set', async () => {
    const path = await fileWith({ [`sha256:${ID.me}`]: TEXT.me, [ID.unreadCount]: TEXT.unreadCount });
    const config = loadConfig({ TRUSTED_DOCUMENTS: path });
    expect(config).toMatchObject({ graphiql: false, introspection: false });
    for (const id of [ID.me, `sha256:${ID.me}`]) expect(config.trustedDocuments?.get(id)).toBe(TEXT.me);
    expect(config.trustedDocuments?.get(`sha256:${ID.unreadCount}`)).toBe(TEXT.unreadCount);
    expect(config.trustedDocuments?.get(UNKNOWN_ID)).toBeNull();
    expect(loadConfig({ TRUSTED_DOCUMENTS: path, GRAPHIQL: 'true', INTROSPECTION: 'on' })).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true, trustedDocuments: null });
  });
});
