import { EventEmitter } from 'node:events';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub as InProcessEngine, type PubSubEngine } from 'graphql-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/log.js';
import { EventStream } from './event-stream.js';
import { LocalChannels } from './local-channels.js';
import {
  EPHEMERAL_TOPICS,
  idAfter,
  routeOutboxEvent,
  type Delivery,
  type EphemeralTopicName,
  type OutboxEvent,
  type TopicEvent,
  type TopicKey,
  type TopicName,
} from './topics.js';

export interface SubscribeOptions {
  /** Unread events a subscriber may hold before its stream fails as a slow consumer. @default PubSubOptions.bufferLimit */
  limit?: number;
  /**
   * Drop events whose id is not after the last one seen (outbox events, which a
   * relay fail-over may repeat). Ephemeral events (typing) set false.
   * @default true
   */
  dedupe?: boolean;
}

export type Channel<T extends TopicName> = readonly [topic: T, key: TopicKey<T>];

/**
 * Delivers, to this process's subscribers only, what they may have missed
 * while the PubSub connection was down (read back from the outbox).
 */
export type CatchUp = (deliverLocally: (deliveries: Delivery[]) => void) => Promise<void>;

/**
 * Typed publish/subscribe over Redis or in-process, the same for both.
 *
 * Outbox events travel on one bus channel, a batch per message, and every
 * process routes them to its own subscribers' channels: a broadcast to 10,000
 * users is 20 Redis messages, not 20,000, and subscribing to an outbox channel
 * needs no Redis round trip. Ephemeral events (presence, typing) have a Redis
 * channel each, so a process hears only those it has subscribers for.
 */
export interface PubSub {
  readonly kind: 'redis' | 'in-process';
  publish<T extends EphemeralTopicName>(topic: T, key: TopicKey<T>, event: TopicEvent<T>): Promise<void>;
  /** Sends a batch of outbox events, in id order, to every process of the cluster (the relay leader's job). */
  publishOutbox(events: OutboxEvent<unknown>[]): Promise<void>;
  /** Id of the newest outbox event this process has received from the bus; null before the first. */
  readonly outboxWatermark: string | null;
  /**
   * Resolves once every channel is subscribed (for Redis: SUBSCRIBE confirmed),
   * so anything published afterwards reaches the stream.
   */
  subscribe<T extends TopicName>(channels: Channel<T>[], options?: SubscribeOptions): Promise<EventStream<TopicEvent<T>>>;
  /** Runs after the subscriber connection comes back from an outage, before live events flow again. */
  setCatchUp(catchUp: CatchUp): void;
  /** Live subscriptions of this process, for leak checks and metrics. */
  activeSubscriptions(): number;
  /** Channels (topic and key) this process has subscribers for; only ephemeral ones are engine (e.g. Redis) subscriptions. */
  activeChannels(): number;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PubSubOptions {
  redisUrl: string | null;
  /** Channel prefix, so deployments and tests can share one Redis. */
  prefix: string;
  log: Logger;
  /** How long a subscribe waits for the engine before failing. @default 5000 */
  subscribeTimeoutMs?: number;
  /** Default for SubscribeOptions.limit. @default 10000 */
  bufferLimit?: number;
  /** Called once per event this process receives on a channel it holds (for metrics). */
  onEvent?: (event: { createdAt?: unknown }) => void;
}

export function createPubSub(options: PubSubOptions): PubSub {
  return options.redisUrl ? redisPubSub(options.redisUrl, options) : inProcessPubSub(options);
}

function inProcessPubSub(options: PubSubOptions): PubSub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return wrapEngine('in-process', new InProcessEngine({ eventEmitter: emitter }), options, {
    ready: async () => {},
    onReconnect: () => {},
    ping: async () => {},
    close: async () => void emitter.removeAllListeners(),
  });
}

function redisPubSub(url: string, options: PubSubOptions): PubSub {
  // Two connections: a connection in subscriber mode cannot publish. The
  // publisher fails fast while Redis is away (the relay retries from the
  // outbox); the subscriber reconnects and resubscribes by itself.
  // Auto-pipelining: the relay publishes a whole batch in one tick, and it leaves in one write.
  const publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  let lostSince: number | null = null;
  for (const [name, connection] of [['publisher', publisher], ['subscriber', subscriber]] as const) {
    connection.on('error', (error: Error) => options.log.debug({ err: error, connection: name }, 'redis error'));
  }
  let everReady = false;
  subscriber.on('close', () => {
    // ioredis also closes while it first connects; only a lost ready connection is an outage.
    if (!everReady || lostSince !== null) return;
    options.log.warn('redis subscriber connection lost');
    lostSince = Date.now();
  });
  const engine = new RedisPubSub({ publisher, subscriber });
  let reconnected: () => void = () => {};
  subscriber.on('ready', () => {
    everReady = true;
    if (lostSince === null) return;
    options.log.info({ downMs: Date.now() - lostSince }, 'redis subscriber connection back');
    lostSince = null;
    reconnected();
  });
  return wrapEngine('redis', engine, options, {
    // A SUBSCRIBE sent while ioredis still runs its ready check turns that check
    // into an error and the subscription is lost: subscribe once ready.
    ready: () =>
      subscriber.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => subscriber.once('ready', () => resolve())),
    onReconnect: (handler) => (reconnected = handler),
    ping: async () => {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready') throw new Error('redis is not connected');
      await publisher.ping();
    },
    close: async () => {
      await engine.close().catch(() => {});
    },
  });
}

interface EngineLifecycle {
  ready(): Promise<void>;
  onReconnect(handler: () => void): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What the bus channel carries: one relay batch. */
interface OutboxBatch {
  events: OutboxEvent<unknown>[];
}

function wrapEngine(kind: PubSub['kind'], engine: PubSubEngine, options: PubSubOptions, lifecycle: EngineLifecycle): PubSub {
  const channelName = (topic: string, key: string) => `${options.prefix}${topic}:${key}`;
  const busChannel = `${options.prefix}outbox`;
  const local = new LocalChannels(engine, options.subscribeTimeoutMs ?? 5000, options.onEvent);
  let streams = 0;
  let catchUp: CatchUp | null = null;
  let outboxWatermark: string | null = null;

  const receiveBatch = ({ events }: OutboxBatch) => {
    for (const event of events) {
      for (const delivery of routeOutboxEvent(event)) local.receive(channelName(delivery.topic, String(delivery.key)), delivery.event);
    }
    const last = events[events.length - 1];
    if (last) outboxWatermark = last.id;
  };
  // Joined as soon as the engine is ready, so the watermark follows the relay from the start;
  // the engine resubscribes by itself after a reconnect. A failed join is retried by the next subscribe.
  let busJoined: Promise<unknown> | null = null;
  const joinBus = () => {
    if (busJoined) return busJoined;
    const joining = lifecycle.ready().then(() => engine.subscribe(busChannel, (batch: OutboxBatch) => receiveBatch(batch), {}));
    busJoined = joining;
    joining.catch(() => {
      if (busJoined === joining) busJoined = null;
    });
    return joining;
  };
  joinBus().catch(() => {});

  lifecycle.onReconnect(() => {
    if (!catchUp) return;
    // Live events wait until what was missed has been delivered, so each stream stays in order.
    local.pause();
    catchUp((deliveries) => {
      for (const delivery of deliveries) local.deliverLocally(channelName(delivery.topic, String(delivery.key)), delivery.event);
    })
      .catch((error: unknown) => options.log.error({ err: error }, 'catch-up after reconnect failed'))
      .finally(() => local.resume());
  });

  return {
    kind,
    publish: (topic, key, event) => engine.publish(channelName(topic, key), event),
    publishOutbox: (events) => (events.length === 0 ? Promise.resolve() : engine.publish(busChannel, { events } satisfies OutboxBatch)),
    get outboxWatermark() {
      return outboxWatermark;
    },
    async subscribe<T extends TopicName>(channels: Channel<T>[], subscribeOptions: SubscribeOptions = {}) {
      const stream = new EventStream<TopicEvent<T>>(subscribeOptions.limit ?? options.bufferLimit ?? 10_000, subscribeOptions.dedupe === false ? () => true : idAfter);
      const listener = (event: unknown) => stream.push(event as TopicEvent<T>);
      const names = channels.map(([topic, key]) => channelName(topic, key));
      streams += 1;
      stream.attach(async () => {
        streams -= 1;
        for (const name of names) local.remove(name, listener);
      });
      try {
        await local.whenReady(Promise.all([lifecycle.ready(), joinBus()]).then(() => {}));
        await Promise.all(channels.map(([topic], index) => local.add(names[index]!, listener, { viaEngine: EPHEMERAL_TOPICS.has(topic) })));
      } catch (error) {
        await stream.return();
        throw error;
      }
      // Closed while subscribing (the client left early): return() above already removed the listeners,
      // but add() may have re-added one after that.
      if (stream.closed) for (const name of names) local.remove(name, listener);
      return stream;
    },
    setCatchUp(handler) {
      catchUp = handler;
    },
    activeSubscriptions: () => streams,
    activeChannels: () => local.channelNames.length,
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}
