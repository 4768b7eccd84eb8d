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

/** Ephemeral (never in the outbox): a user came online or went offline, cluster-wide. */
export interface PresenceChanged {
  /** The user's presence version as a string; presence streams subscribe without dedupe and order by version. */
  id: string;
  userId: string;
  online: boolean;
  /** Increases with every change of this user's presence. */
  version: number;
  /** ISO time the last connection closed; null while online. */
  lastSeenAt: string | null;
}

export interface MessageCreated {
  messageId: string;
  conversationId: string;
  senderId: string;
  replyToId: string | null;
}

/** The typist as a typing signal carries them, so subscribers need not read the user row per event. */
export interface TypingUser {
  id: string;
  role: 'CUSTOMER' | 'PARTNER' | 'ADMIN';
  displayName: string;
  partnerId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Ephemeral (never in the outbox): published by setTyping and sendMessage. */
export interface TypingSignal {
  /** Unique per signal; typing streams subscribe without dedupe, so ids need not increase. */
  id: string;
  conversationId: string;
  user: TypingUser;
  typing: boolean;
  /** ISO time a typing=true lapses; for typing=false, when it was sent. */
  expiresAt: string;
}

/** Channel name → [key, event]; publish and subscribe cannot disagree. */
export interface Topics {
  'presence.changed': [userId: string, event: PresenceChanged];
  /** Every outbox event on one channel, for the admin activity feed; subscribers filter by topic. */
  activity: [all: 'all', event: OutboxEvent<unknown>];
  'notification.created': [userId: string, event: OutboxEvent<NotificationCreated>];
  'notification.read': [userId: string, event: OutboxEvent<NotificationRead>];
  'message.created': [conversationId: string, event: OutboxEvent<MessageCreated>];
  'chat.typing': [conversationId: string, event: TypingSignal];
}

export type TopicName = keyof Topics;
export type TopicKey<T extends TopicName> = Topics[T][0];
export type TopicEvent<T extends TopicName> = Topics[T][1];

/** A message for one channel: what the relay hands to PubSub.publish. */
export type Delivery = { [T in TopicName]: { topic: T; key: TopicKey<T>; event: TopicEvent<T> } }[TopicName];

/** Where an outbox row goes: its topic's channels, and the activity feed, which carries every row. */
export function routeOutboxEvent(event: OutboxEvent<unknown>): Delivery[] {
  return [...routeByTopic(event), { topic: 'activity', key: 'all', event }];
}

/** Rows of topics this process does not know go nowhere (but still to the activity feed). */
function routeByTopic(event: OutboxEvent<unknown>): Delivery[] {
  switch (event.topic) {
    case 'notification.created': {
      const typed = event as OutboxEvent<NotificationCreated>;
      return [{ topic: 'notification.created', key: typed.payload.userId, event: typed }];
    }
    case 'notification.read': {
      const typed = event as OutboxEvent<NotificationRead>;
      return [{ topic: 'notification.read', key: typed.payload.userId, event: typed }];
    }
    case 'message.created': {
      const typed = event as OutboxEvent<MessageCreated>;
      return [{ topic: 'message.created', key: typed.payload.conversationId, event: typed }];
    }
    default:
      return [];
  }
}

/** Decimal ids of any length compare by length first, then digit by digit. */
export function idAfter(id: string, previous: string): boolean {
  return id.length !== previous.length ? id.length > previous.length : id > previous;
}
