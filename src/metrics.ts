import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so several servers in one test process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    connections: new Gauge({ name: 'realtime_open_connections', help: 'Open graphql-ws connections', registers: [registry] }),
    subscriptions: new Gauge({ name: 'realtime_pubsub_subscriptions', help: 'Live PubSub subscriptions of this process', registers: [registry] }),
    relayLeader: new Gauge({ name: 'realtime_relay_leader', help: '1 while this process publishes the outbox', registers: [registry] }),
    closes: new Counter({ name: 'realtime_ws_closes_total', help: 'graphql-ws connections closed, by code', labelNames: ['code'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
