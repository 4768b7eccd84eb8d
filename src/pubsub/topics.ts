import type { OrderStatusName } from '../db/types.js';

/**
 * Every event the system knows. An outbox row (topic + payload, written by a
 * trigger) becomes one event on one or more PubSub channels; each channel is
 * a topic plus a key, e.g. `notification.created:<userId>`.
 */

/** An outbox row as it travels: `id` is its position, increasing in delivery order (per key, commit order). */
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

export interface MessageCreated {
  messageId: string;
  conversationId: string;
  senderId: string;
  replyToId: string | null;
}

/** Payload of conversation.read: a participant's read position moved forward (read receipts). */
export interface ConversationRead {
  conversationId: string;
  userId: string;
  lastReadMessageId: string;
  /** ISO time the position moved. */
  readAt: string;
}

/** Ephemeral (never in the outbox): published by setTyping and sendMessage. */
export interface TypingSignal {
  /** Unique per signal; typing streams subscribe without dedupe, so ids need not increase. */
  id: string;
  conversationId: string;
  /** The typist; subscribers read the user through a per-event batch, not per subscriber. */
  userId: string;
  typing: boolean;
  /** ISO time a typing=true lapses; for typing=false, when it was sent. */
  expiresAt: string;
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

/**
 * Payload of order.created and order.updated: the order's small, changing
 * fields as of the change, enough to route the event, to decide who may see
 * it, and to show the change as it was when the row has moved on.
 */
export interface OrderChanged {
  orderId: string;
  customerId: string;
  partnerId: string | null;
  status: OrderStatusName;
  /** orders.version after the change: a subscriber that sent this version already skips the event. */
  version: number;
  latitude: number | null;
  longitude: number | null;
  /** ISO time of the location; null before the first one. */
  locationAt: string | null;
  /** ISO time. */
  updatedAt: string;
  /** Set when the status changed. */
  previousStatus?: string;
  /** Present (possibly null) when the partner changed. */
  previousPartnerId?: string | null;
}

/** Payload of order.assigned (partnerId is the new partner) and order.unassigned (the old one). */
export interface OrderAssignment {
  orderId: string;
  partnerId: string;
  customerId: string;
}

export interface EarningsCreated {
  earningsId: string;
  orderId: string;
  partnerId: string;
  amountCents: number;
  /** The partner's earnings total after this entry. */
  totalCents: number;
}

/** What a partner's channel carries, told apart by topic. */
export type PartnerOutboxEvent =
  | (OutboxEvent<OrderAssignment> & { topic: 'order.assigned' | 'order.unassigned' })
  | (OutboxEvent<EarningsCreated> & { topic: 'earnings.created' });

/** Channel name → [key, event]; publish and subscribe cannot disagree. */
export interface Topics {
  'presence.changed': [userId: string, event: PresenceChanged];
  /** Every presence change, for figures over everyone (live dashboards' onlineUsers). */
  'presence.all': [all: 'all', event: PresenceChanged];
  /** Every outbox event on one channel, for the admin activity feed; subscribers filter by topic. */
  activity: [all: 'all', event: OutboxEvent<unknown>];
  'notification.created': [userId: string, event: OutboxEvent<NotificationCreated>];
  'notification.read': [userId: string, event: OutboxEvent<NotificationRead>];
  'message.created': [conversationId: string, event: OutboxEvent<MessageCreated>];
  'chat.typing': [conversationId: string, event: TypingSignal];
  'conversation.read': [conversationId: string, event: OutboxEvent<ConversationRead>];
  /** Order changes (order.created, order.updated) by order, by customer, by current partner, and all of them (key 'all'). */
  'order.byId': [orderId: string, event: OutboxEvent<OrderChanged>];
  'order.byCustomer': [customerId: string, event: OutboxEvent<OrderChanged>];
  'order.byPartner': [partnerId: string, event: OutboxEvent<OrderChanged>];
  'order.all': [all: 'all', event: OutboxEvent<OrderChanged>];
  /** order.assigned, order.unassigned and earnings.created of one partner. */
  'partner.event': [partnerId: string, event: PartnerOutboxEvent];
}

export type TopicName = keyof Topics;
/** Topics published as they happen, never stored; every other topic is routed from outbox rows. */
export type EphemeralTopicName = 'presence.changed' | 'presence.all' | 'chat.typing';
export const EPHEMERAL_TOPICS: ReadonlySet<TopicName> = new Set<EphemeralTopicName>(['presence.changed', 'presence.all', 'chat.typing']);
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
    case 'conversation.read': {
      const typed = event as OutboxEvent<ConversationRead>;
      return [{ topic: 'conversation.read', key: typed.payload.conversationId, event: typed }];
    }
    case 'order.created':
    case 'order.updated':
      return orderChangeDeliveries(event as OutboxEvent<OrderChanged>);
    case 'order.assigned':
    case 'order.unassigned':
    case 'earnings.created': {
      const typed = event as PartnerOutboxEvent;
      return [{ topic: 'partner.event', key: typed.payload.partnerId, event: typed }];
    }
    default:
      return [];
  }
}

/** A partner that loses the order gets nothing more on its channel: the event goes to the current partner only. */
function orderChangeDeliveries(event: OutboxEvent<OrderChanged>): Delivery[] {
  const { orderId, customerId, partnerId } = event.payload;
  const deliveries: Delivery[] = [
    { topic: 'order.byId', key: orderId, event },
    { topic: 'order.byCustomer', key: customerId, event },
    { topic: 'order.all', key: 'all', event },
  ];
  if (partnerId !== null) deliveries.push({ topic: 'order.byPartner', key: partnerId, event });
  return deliveries;
}

/** Decimal ids of any length compare by length first, then digit by digit. */
export function idAfter(id: string, previous: string): boolean {
  return id.length !== previous.length ? id.length > previous.length : id > previous;
}
