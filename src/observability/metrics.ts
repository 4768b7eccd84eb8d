import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so several servers in one test process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({ name: 'realtime_open_connections', help: 'Open connections by transport (ws: acknowledged graphql-ws sockets, sse: open SSE streams)', labelNames: ['transport'], registers }),
    subscriptions: new Gauge({ name: 'realtime_active_subscriptions', help: 'Active GraphQL subscriptions by root field', labelNames: ['field'], registers }),
    deliveries: new Counter({ name: 'realtime_deliveries_total', help: 'Subscription results sent, by root field', labelNames: ['field'], registers }),
    executions: new Counter({
      name: 'realtime_subscription_executions_total',
      help: 'Executions of subscription events; shared="true" counts results reused from another subscriber of the same event and operation',
      labelNames: ['shared'],
      registers,
    }),
    liveQueries: new Gauge({ name: 'realtime_live_queries', help: 'Live queries held open, and the distinct groups (one execution per change each) they form', labelNames: ['kind'], registers }),
    liveExecutions: new Counter({
      name: 'realtime_live_query_executions_total',
      help: 'Executions of live query groups (one per group and change window, however many hold it), by root fields',
      labelNames: ['fields'],
      registers,
    }),
    liveResults: new Counter({ name: 'realtime_live_query_results_total', help: 'Live query results sent to clients (unchanged results are not sent)', registers }),
    pubsubStreams: new Gauge({ name: 'realtime_pubsub_streams', help: 'Live PubSub streams of this process (leak check)', registers }),
    pubsubChannels: new Gauge({ name: 'realtime_pubsub_channels', help: 'PubSub channels (topic and key) this process has subscribers for', registers }),
    eventsPublished: new Counter({ name: 'realtime_events_published_total', help: 'Outbox events published by the relay, by topic', labelNames: ['topic'], registers }),
    eventLag: new Histogram({
      name: 'realtime_event_lag_seconds',
      help: 'From the outbox row (the committing transaction) to the event reaching a subscriber stream of this process',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    relayLeader: new Gauge({ name: 'realtime_relay_leader', help: '1 while this process publishes the outbox', registers }),
    relayLag: new Gauge({ name: 'realtime_relay_lag_events', help: 'Newest outbox id minus the last published id', registers }),
    outboundBufferBytes: new Gauge({ name: 'realtime_ws_outbound_buffer_bytes', help: 'Bytes queued for sending on all WebSockets of this process', registers }),
    closes: new Counter({ name: 'realtime_ws_closes_total', help: 'graphql-ws connections closed, by code', labelNames: ['code'], registers }),
    rateLimited: new Counter({ name: 'realtime_rate_limited_total', help: 'Operations refused with RATE_LIMITED, by root field', labelNames: ['field'], registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
