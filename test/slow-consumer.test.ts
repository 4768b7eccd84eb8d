import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NotificationAddedDocument } from './generated/graphql.js';
import { wsConnect, type WsConnection } from './support/clients.js';
import { deferred, eventually, probeUntilLive, within } from './support/deferred.js';
import { bearer, rawConnect } from './support/raw-ws.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { person } from './support/world.js';

describe.each(BACKENDS)('a slow consumer on %s', (backend) => {
  let t: TestServer;
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    t = await startTestServer(backend, { SUBSCRIBER_BUFFER_LIMIT: '50' });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('is closed with 1013 once its buffer passes the limit, while other clients keep receiving', async () => {
    const slowReader = await person(t, 'slow-reader', 'customer');
    const fastReader = await person(t, 'fast-reader', 'customer');

    // A raw graphql-ws client, so the test can stop reading from its socket.
    const slow = await rawConnect(t.url);
    await slow.init(bearer(slowReader.token));
    slow.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { notificationAdded { id body } }' } });
    await probeUntilLive(
      () => t.sql(`insert into notifications (user_id, title) values ('slow-reader', 'probe')`),
      (ms) => slow.next('next', ms),
      'the slow subscription to go live',
    );

    const fast = wsConnect(t.url, bearer(fastReader.token));
    sockets.push(fast);
    const fastEvents = fast.subscribe(NotificationAddedDocument, {});
    await probeUntilLive(
      () => t.sql(`insert into notifications (user_id, title) values ('fast-reader', 'probe')`),
      (ms) => fastEvents.next(ms),
      'the fast subscription to go live',
    );
    while (fastEvents.pending > 0) await fastEvents.next();

    const before = t.server.pubsub.activeSubscriptions();
    slow.socket.pause();
    // ~20 MB for a client that reads nothing: far past the kernel's socket buffers.
    await t.sql(`insert into notifications (user_id, title, body) select 'slow-reader', 'flood ' || i, repeat('x', 4000) from generate_series(1, 5000) as i`);
    await t.sql(`insert into notifications (user_id, title) values ('fast-reader', 'still here')`);
    expect((await fastEvents.next()).notificationAdded.title).toBe('still here');

    // The slow subscription was dropped server-side...
    await eventually(() => (t.server.pubsub.activeSubscriptions() < before ? true : undefined), 'the slow subscription to be dropped', 20_000);
    // ...and once the client reads again it finds the 1013 close after what was already on the wire.
    slow.socket.resume();
    expect((await within(slow.closed, 30_000, 'the slow socket to close')).code).toBe(1013);
  });
});

describe.each(BACKENDS)('subscriptions cut short on %s', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('leaves no stream or channel behind when sockets close while their subscriptions are still starting', async () => {
    const jwt = (await person(t, 'racer', 'customer')).token;
    const streams = t.server.pubsub.activeSubscriptions();
    const channels = t.server.pubsub.activeChannels();
    for (let i = 0; i < 200; i += 1) {
      const socket = new WebSocket(t.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const acked = deferred();
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${jwt}` } })));
      socket.on('message', (data) => {
        if (JSON.parse(data.toString()).type === 'connection_ack') acked.resolve();
      });
      await acked.promise;
      socket.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: 'subscription { notificationAdded { id } }' } }));
      socket.send(JSON.stringify({ id: 'b', type: 'subscribe', payload: { query: 'subscription { unreadCountChanged }' } }));
      // Gone before the server could finish starting them (every other one without a close frame).
      if (i % 2 === 0) socket.terminate();
      else socket.close();
    }
    await eventually(
      () => (t.server.pubsub.activeSubscriptions() === streams && t.server.pubsub.activeChannels() === channels ? true : undefined),
      'every stream and channel of the cut-short subscriptions to be released',
    );
  });
});
