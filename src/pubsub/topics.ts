/**
 * Every event the system knows. An outbox row (topic + payload, written by a
 * trigger) becomes one event on one or more PubSub channels; each channel is
 * a topic plus a key, e.g. `notification.created:<userId>`.
 */

/** An outbox row as it travels: `id` is the outbox id, increasing in commit order. */
export interface OutboxEvent<Payload> {
  id: string;
  topic: string;
  payload: Payload;
  createdAt: string;
}

export interface NotificationCreated {
  notificationId: string;
  userId: string;
  kind: string;
  priority: string;
}

export interface NotificationRead {
  userId: string;
  notificationIds: string[];
}

/** Channel name → [key, event]; publish and subscribe cannot disagree. */
export interface Topics {
  'notification.created': [userId: string, event: OutboxEvent<NotificationCreated>];
  'notification.read': [userId: string, event: OutboxEvent<NotificationRead>];
}

export type TopicName = keyof Topics;
export type TopicKey<T extends TopicName> = Topics[T][0];
export type TopicEvent<T extends TopicName> = Topics[T][1];

/** A message for one channel: what the relay hands to PubSub.publish. */
export type Delivery = { [T in TopicName]: { topic: T; key: TopicKey<T>; event: TopicEvent<T> } }[TopicName];

/** Where an outbox row goes. Rows of topics this process does not know go nowhere. */
export function routeOutboxEvent(event: OutboxEvent<unknown>): Delivery[] {
  switch (event.topic) {
    case 'notification.created': {
      const typed = event as OutboxEvent<NotificationCreated>;
      return [{ topic: 'notification.created', key: typed.payload.userId, event: typed }];
    }
    case 'notification.read': {
      const typed = event as OutboxEvent<NotificationRead>;
      return [{ topic: 'notification.read', key: typed.payload.userId, event: typed }];
    }
    default:
      return [];
  }
}

/** Decimal ids of any length compare by length first, then digit by digit. */
export function idAfter(id: string, previous: string): boolean {
  return id.length !== previous.length ? id.length > previous.length : id > previous;
}
