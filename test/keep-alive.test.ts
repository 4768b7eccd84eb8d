import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceChangedDocument, UnreadCountChangedDocument } from './generated/graphql.js';
import { wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { postSse } from './support/raw-sse.js';
import { bearer, rawConnect, type RawSocket } from './support/raw-ws.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { newPeople, type Partner, type Person } from './support/world.js';

/** Not Yoga's 300 ms SSE ping under NODE_ENV=test, so that the test tells the two apart. */
const INTERVAL_MS = 500;
/** For timers and the presence store on a busy machine; the contract's bound is 2 × the interval. */
const SLACK_MS = 1000;

type PresenceEvent = { presenceChanged: { user: { id: string }; online: boolean } };

async function nextChange(watcher: Subscription<PresenceEvent>, ms?: number): Promise<[string, boolean]> {
  const { presenceChanged } = await watcher.next(ms);
  return [presenceChanged.user.id, presenceChanged.online];
}

/** The mean time between consecutive instants. */
function meanGap(instants: number[]): number {
  return (instants[instants.length - 1]! - instants[0]!) / (instants.length - 1);
}

/** A raw SSE stream of one subscription: when each comment line arrived, and the data lines. */
async function sseStream(url: string, jwt: string, query: string) {
  const controller = new AbortController();
  const response = await postSse(url, jwt, { query }, controller.signal);
  const comments: number[] = [];
  const data: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    const reader = response.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(':')) comments.push(Date.now());
        else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
      }
    }
  })().catch(() => {});
  return {
    response,
    comments,
    data,
    async close() {
      controller.abort();
      await reading;
    },
  };
}

describe.each(BACKENDS)('keep-alive on %s', (backend) => {
  let t: TestServer;
  const people = newPeople(() => t, `ka-${backend === 'embedded' ? 'e' : 'r'}`);
  const connections: WsConnection[] = [];
  const rawSockets: RawSocket[] = [];
  const proxies: TcpProxy[] = [];
  const streams: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    t = await startTestServer(backend, { WS_PING_INTERVAL_MS: String(INTERVAL_MS), MAX_CONNECTIONS_PER_USER: '1' });
  });

  afterAll(async () => {
    await Promise.all(streams.map((stream) => stream.close()));
    for (const socket of rawSockets) socket.close();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all(connections.map((connection) => connection.dispose()));
    await t?.stop();
  });

  function ws(user: Person, url = t.url): WsConnection {
    const connection = wsConnect(url, bearer(user.token));
    connections.push(connection);
    return connection;
  }

  /** True when a new graphql-ws connection of `user` is acknowledged (a slot was free); undefined when it is refused. */
  function connects(user: Person): Promise<true | undefined> {
    return ws(user).connected.then(
      () => true as const,
      () => undefined,
    );
  }

  async function proxy(): Promise<TcpProxy> {
    const started = await startTcpProxy(t.url);
    proxies.push(started);
    return started;
  }

  async function pubsubStreams(): Promise<number> {
    const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
    return Number(/^realtime_pubsub_streams (\d+)$/m.exec(text)![1]);
  }

  /** A customer watching the presence of their order's partner, who is offline so far. */
  async function watchedPartner(): Promise<{ partner: Partner; watcher: Subscription<PresenceEvent> }> {
    const customer = await people.customer();
    const partner = await people.partner();
    await t.sql(`insert into orders (customer_id, partner_id, description, total_cents) values ($1, $2, 'Keep-alive test', 1000)`, [customer.id, partner.partnerId]);
    const watcher = ws(customer).subscribe(PresenceChangedDocument, { userIds: [partner.id] });
    expect(await nextChange(watcher)).toEqual([partner.id, false]);
    return { partner, watcher };
  }

  it('a graphql-ws client whose path goes silent goes offline within 2 × WS_PING_INTERVAL_MS; its slot and subscriptions end', async () => {
    const { partner, watcher } = await watchedPartner();
    const path = await proxy();
    const phone = ws(partner, path.url);
    await phone.connected;
    expect(await nextChange(watcher)).toEqual([partner.id, true]);
    const streamsBefore = await pubsubStreams();
    const unread = phone.subscribe(UnreadCountChangedDocument);
    expect(await unread.next()).toEqual({ unreadCountChanged: expect.any(Number) });
    expect(await pubsubStreams()).toBeGreaterThan(streamsBefore);
    // MAX_CONNECTIONS_PER_USER=1: the phone holds the partner's one slot.
    expect((await ws(partner).closed).code).toBe(4429);

    path.freeze();
    const frozenAt = Date.now();
    expect(await nextChange(watcher, 2 * INTERVAL_MS + 10_000)).toEqual([partner.id, false]);
    const offlineAfterMs = Date.now() - frozenAt;
    console.log(`keep-alive (${backend}): offline ${offlineAfterMs} ms after the path froze (WS_PING_INTERVAL_MS=${INTERVAL_MS})`);
    expect(offlineAfterMs).toBeLessThan(2 * INTERVAL_MS + SLACK_MS);

    await eventually(async () => ((await pubsubStreams()) === streamsBefore ? true : undefined), 'the frozen client’s subscription to end');
    await eventually(() => connects(partner), 'the frozen client’s slot to be free');
    // Nothing reached the client: it was cut by the server, not told.
    expect(await Promise.race([phone.closed.then(() => 'closed'), Promise.resolve('open')])).toBe('open');
  });

  it('a healthy idle client answers every ping and stays connected, one ping per WS_PING_INTERVAL_MS', async () => {
    const user = await people.customer();
    const path = await proxy();
    const socket = await rawConnect(path.url);
    rawSockets.push(socket);
    const pings: number[] = [];
    socket.socket.on('ping', () => pings.push(Date.now()));
    await socket.init(bearer(user.token));
    const idle = ws(await people.customer(), (await proxy()).url);
    await idle.connected;

    await eventually(() => (pings.length >= 8 ? true : undefined), 'eight pings', 8 * INTERVAL_MS + 10_000);
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
    expect(await Promise.race([idle.closed.then(() => 'closed'), Promise.resolve('open')])).toBe('open');
    // One pinger at the interval: not graphql-ws's own 12 s one besides (nor instead).
    expect(meanGap(pings)).toBeGreaterThanOrEqual(0.85 * INTERVAL_MS);
    expect(meanGap(pings)).toBeLessThan(2 * INTERVAL_MS);
  });

  it('an SSE stream gets a comment line every WS_PING_INTERVAL_MS, and its events as before', async () => {
    const user = await people.customer();
    const stream = await sseStream(t.url, user.token, print(UnreadCountChangedDocument));
    streams.push(stream);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream');
    await eventually(() => (stream.comments.length >= 6 ? true : undefined), 'six comments', 6 * INTERVAL_MS + 10_000);
    expect(stream.data.map((line) => JSON.parse(line) as unknown)).toEqual([{ data: { unreadCountChanged: 0 } }]);
    // The first comment opens the stream at once; the others keep it alive at the interval (not Yoga's 300 ms).
    const keepAlives = stream.comments.slice(1);
    expect(meanGap(keepAlives)).toBeGreaterThanOrEqual(0.85 * INTERVAL_MS);
    expect(meanGap(keepAlives)).toBeLessThan(2 * INTERVAL_MS);
  });

  it('an SSE stream whose write fails (the client host rebooted) ends: offline, its slot free', async () => {
    const { partner, watcher } = await watchedPartner();
    const path = await proxy();
    const stream = await sseStream(path.url, partner.token, print(UnreadCountChangedDocument));
    streams.push(stream);
    await eventually(() => (stream.data.length > 0 ? true : undefined), 'the stream’s first event');
    expect(await nextChange(watcher)).toEqual([partner.id, true]);
    expect((await ws(partner).closed).code).toBe(4429);

    path.rebootClient();
    const rebootedAt = Date.now();
    expect(await nextChange(watcher, INTERVAL_MS + 10_000)).toEqual([partner.id, false]);
    // The next keep-alive comment is the write that fails.
    expect(Date.now() - rebootedAt).toBeLessThan(INTERVAL_MS + SLACK_MS);
    await eventually(() => connects(partner), 'the stream’s slot to be free');
  });
});
