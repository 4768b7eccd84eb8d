import { EventEmitter } from 'node:events';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub as InProcessEngine, type PubSubEngine } from 'graphql-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { EventStream } from './event-stream.js';
import { LocalChannels } from './local-channels.js';
import { idAfter, type Delivery, type TopicEvent, type TopicKey, type TopicName } from './topics.js';

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

/** Typed publish/subscribe over Redis or in-process, the same for both. */
export interface PubSub {
  readonly kind: 'redis' | 'in-process';
  publish<T extends TopicName>(topic: T, key: TopicKey<T>, event: TopicEvent<T>): Promise<void>;
  /**
   * Resolves once every channel is subscribed (for Redis: SUBSCRIBE confirmed),
   * so anything published afterwards reaches the stream.
   */
  subscribe<T extends TopicName>(channels: Channel<T>[], options?: SubscribeOptions): Promise<EventStream<TopicEvent<T>>>;
  /** Runs after the subscriber connection comes back from an outage, before live events flow again. */
  setCatchUp(catchUp: CatchUp): void;
  /** Live subscriptions of this process, for leak checks and metrics. */
  activeSubscriptions(): number;
  /** Channels this process holds an engine (e.g. Redis) subscription for. */
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
  const engine = new RedisPubSub({ publisher, subscriber, serializer: serializeRepeats() });
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

/**
 * JSON.stringify that remembers the last object it wrote: the relay publishes
 * one event on several channels in a row (its topic's, the activity feed's,
 * an order's three boards), and serializes it once for all of them. Events
 * are never changed after they are published.
 */
function serializeRepeats(): (source: unknown) => string {
  let lastSource: unknown = undefined;
  let lastText = '';
  return (source) => {
    if (source !== lastSource || source === undefined) {
      lastText = JSON.stringify(source);
      lastSource = source;
    }
    return lastText;
  };
}

interface EngineLifecycle {
  ready(): Promise<void>;
  onReconnect(handler: () => void): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

function wrapEngine(kind: PubSub['kind'], engine: PubSubEngine, options: PubSubOptions, lifecycle: EngineLifecycle): PubSub {
  const channelName = (topic: string, key: string) => `${options.prefix}${topic}:${key}`;
  const local = new LocalChannels(engine, options.subscribeTimeoutMs ?? 5000, options.onEvent);
  let streams = 0;
  let catchUp: CatchUp | null = null;

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
        await local.whenReady(lifecycle.ready());
        await Promise.all(names.map((name) => local.add(name, listener)));
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
