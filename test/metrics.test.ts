import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationAddedDocument, SendNotificationDocument, SetTypingDocument } from './generated/graphql.js';
import { httpData, httpRequest, sseConnect, wsConnect, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { sample, scrape as scrapeMetrics } from './support/metrics.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { openDirect, person } from './support/world.js';

describe.each(BACKENDS)('/metrics on %s', (backend) => {
  let t: TestServer;
  const sockets: WsConnection[] = [];
  const scrape = () => scrapeMetrics(t.url);

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('moves each metric as connections, subscriptions, events, closes and limits happen', async () => {
    const admin = await token({ sub: 'metrics-admin', role: 'admin' });
    const user = await person(t, 'metrics-user', 'customer');
    const other = await person(t, 'metrics-other', 'customer');
    const start = await scrape();
    expect(sample(start, 'realtime_relay_leader')).toBe(1);
    expect(start).toContain('process_cpu_user_seconds_total');
    expect(start).toContain('realtime_ws_outbound_buffer_bytes');

    const socket = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(socket);
    const added = socket.subscribe(NotificationAddedDocument, {});
    const sse = sseConnect(t.url, user.token);
    const overSse = sse.subscribe(NotificationAddedDocument, {});
    await eventually(async () => {
      const text = await scrape();
      return sample(text, 'realtime_open_connections', { transport: 'ws' }) === 1 &&
        sample(text, 'realtime_open_connections', { transport: 'sse' }) === 1 &&
        sample(text, 'realtime_active_subscriptions', { field: 'notificationAdded' }) === 2
        ? true
        : undefined;
    }, 'connections and subscriptions to show');

    const before = await scrape();
    await httpData(t.url, SendNotificationDocument, { input: { userIds: ['metrics-user'], title: 'counted', body: '' } }, admin);
    await added.next();
    await overSse.next();
    await eventually(async () => {
      const text = await scrape();
      const delivered = sample(text, 'realtime_deliveries_total', { field: 'notificationAdded' }) - sample(before, 'realtime_deliveries_total', { field: 'notificationAdded' });
      const published =
        sample(text, 'realtime_events_published_total', { topic: 'notification.created' }) -
        sample(before, 'realtime_events_published_total', { topic: 'notification.created' });
      const lagged = sample(text, 'realtime_event_lag_seconds_count') - sample(before, 'realtime_event_lag_seconds_count');
      return delivered === 2 && published === 1 && lagged >= 1 && sample(text, 'realtime_relay_lag_events') === 0 ? true : undefined;
    }, 'deliveries, published events, lag and relay lag to move');

    overSse.close();
    added.close();
    await eventually(async () => ((await scrape()).includes('realtime_active_subscriptions{field="notificationAdded"} 0') ? true : undefined), 'subscriptions to end');

    const refused = wsConnect(t.url, { authorization: 'Bearer nonsense' });
    expect((await refused.closed).code).toBe(4403);
    await eventually(async () => (sample(await scrape(), 'realtime_ws_closes_total', { code: '4403' }) >= 1 ? true : undefined), 'the 4403 close to count');

    const conversationId = await openDirect(t, user, other);
    const results = await Promise.all(Array.from({ length: 8 }, () => httpRequest(t.url, SetTypingDocument, { conversationId, typing: true }, user.token)));
    const limited = results.filter((result) => result.errors?.[0]?.extensions?.['code'] === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThan(0);
    expect(sample(await scrape(), 'realtime_rate_limited_total', { field: 'setTyping' })).toBe(limited);
    sse.dispose();
  });
});
