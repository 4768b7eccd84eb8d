import { EventEmitter } from 'node:events';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub as InProcessEngine, type PubSubEngine } from 'graphql-subscriptions';
import { Redis } from 'ioredis';
import { EventStream } from './event-stream.js';
import { idAfter, type TopicEvent, type TopicKey, type TopicName } from './topics.js';

export interface SubscribeOptions {
  /** Unread events a subscriber may hold before its stream fails. @default 10000 */
  limit?: number;
  /**
   * Drop events whose id is not after the last one seen (outbox events, which a
   * relay fail-over may repeat). Ephemeral events (typing) set false.
   * @default true
   */
  dedupe?: boolean;
}

export type Channel<T extends TopicName> = readonly [topic: T, key: TopicKey<T>];

/** Typed publish/subscribe over Redis or in-process, the same for both. */
export interface PubSub {
  readonly kind: 'redis' | 'in-process';
  publish<T extends TopicName>(topic: T, key: TopicKey<T>, event: TopicEvent<T>): Promise<void>;
  /**
   * Resolves once every channel is subscribed (for Redis: SUBSCRIBE confirmed),
   * so anything published afterwards reaches the stream.
   */
  subscribe<T extends TopicName>(channels: Channel<T>[], options?: SubscribeOptions): Promise<EventStream<TopicEvent<T>>>;
  /** Live subscriptions of this process, for leak checks and metrics. */
  activeSubscriptions(): number;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PubSubOptions {
  redisUrl: string | null;
  /** Channel prefix, so deployments and tests can share one Redis. */
  prefix: string;
}

export function createPubSub(options: PubSubOptions): PubSub {
  return options.redisUrl ? redisPubSub(options.redisUrl, options.prefix) : inProcessPubSub(options.prefix);
}

function inProcessPubSub(prefix: string): PubSub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return wrapEngine('in-process', new InProcessEngine({ eventEmitter: emitter }), prefix, {
    ping: async () => {},
    close: async () => void emitter.removeAllListeners(),
  });
}

function redisPubSub(url: string, prefix: string): PubSub {
  // Two connections: a connection in subscriber mode cannot publish.
  const redisOptions = { maxRetriesPerRequest: null, lazyConnect: false };
  const publisher = new Redis(url, redisOptions);
  const subscriber = new Redis(url, redisOptions);
  const ignore = () => {};
  publisher.on('error', ignore);
  subscriber.on('error', ignore);
  const engine = new RedisPubSub({ publisher, subscriber });
  return wrapEngine('redis', engine, prefix, {
    ping: async () => {
      await Promise.all([publisher.ping(), subscriber.ping()]);
    },
    close: async () => {
      await engine.close();
    },
  });
}

function wrapEngine(
  kind: PubSub['kind'],
  engine: PubSubEngine,
  prefix: string,
  lifecycle: { ping(): Promise<void>; close(): Promise<void> },
): PubSub {
  let active = 0;
  const channelName = (topic: string, key: string) => `${prefix}${topic}:${key}`;
  return {
    kind,
    publish: (topic, key, event) => engine.publish(channelName(topic, key), event),
    async subscribe<T extends TopicName>(channels: Channel<T>[], options: SubscribeOptions = {}) {
      const stream = new EventStream<TopicEvent<T>>(options.limit ?? 10_000, options.dedupe === false ? () => true : idAfter);
      const ids: number[] = [];
      const unsubscribe = async () => {
        active -= 1;
        for (const id of ids.splice(0)) engine.unsubscribe(id);
      };
      active += 1;
      stream.attach(unsubscribe);
      try {
        for (const [topic, key] of channels) {
          const id = await engine.subscribe(channelName(topic, key), (event: TopicEvent<T>) => stream.push(event), {});
          // Closed while subscribing (the client left early): undo at once.
          if (stream.closed) engine.unsubscribe(id);
          else ids.push(id);
        }
      } catch (error) {
        await stream.return();
        throw error;
      }
      return stream;
    },
    activeSubscriptions: () => active,
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}
