import type { ActivityItem } from '../db/activity.js';
import { builder } from './builder.js';
import { connectionType } from './pagination.js';
import { DateTime, Json } from './scalars.js';

export const ActivityEvent = builder.objectRef<ActivityItem>('ActivityEvent').implement({
  description: 'One durable event of the system, as an ADMIN sees it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Strictly increasing.' }),
    topic: t.exposeString('topic', {
      description: 'e.g. notification.created, order.updated, order.assigned, earnings.created, message.created',
    }),
    occurredAt: t.field({ type: DateTime, resolve: (item) => item.createdAt }),
    summary: t.string({ description: 'A one-line human summary.', resolve: (item) => summarize(item.topic, item.payload) }),
    data: t.field({ type: Json, nullable: true, resolve: (item) => item.payload ?? null }),
  }),
});

export const ActivityConnection = connectionType('Activity', ActivityEvent);

/** A payload field as text; missing or null fields read as "?" so a summary never fails. */
function field(payload: unknown, name: string): string {
  const value = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[name] : undefined;
  return value === undefined || value === null ? '?' : String(value);
}

function has(payload: unknown, name: string): boolean {
  return typeof payload === 'object' && payload !== null && name in payload;
}

/** One line per topic, from the payload alone: the feed must not query per event. */
export function summarize(topic: string, payload: unknown): string {
  const p = (name: string) => field(payload, name);
  switch (topic) {
    case 'notification.created':
      return `Notification ${p('notificationId')} (${p('kind')}, ${p('priority')}) created for user ${p('userId')}`;
    case 'notification.read': {
      const ids = has(payload, 'notificationIds') ? (payload as { notificationIds: unknown }).notificationIds : [];
      const count = Array.isArray(ids) ? ids.length : 0;
      return `User ${p('userId')} read ${count} notification${count === 1 ? '' : 's'}`;
    }
    case 'order.created':
      return `Order ${p('orderId')} created by customer ${p('customerId')} (${p('status')})`;
    case 'order.updated':
      if (has(payload, 'previousStatus')) return `Order ${p('orderId')} went from ${p('previousStatus')} to ${p('status')}`;
      if (has(payload, 'previousPartnerId')) return `Order ${p('orderId')} changed partner from ${p('previousPartnerId')} to ${p('partnerId')}`;
      return `Order ${p('orderId')} updated (${p('status')})`;
    case 'order.assigned':
      return `Order ${p('orderId')} assigned to partner ${p('partnerId')}`;
    case 'order.unassigned':
      return `Order ${p('orderId')} unassigned from partner ${p('partnerId')}`;
    case 'earnings.created':
      return `Partner ${p('partnerId')} earned ${p('amountCents')} cents for order ${p('orderId')} (total ${p('totalCents')} cents)`;
    case 'message.created':
      return `User ${p('senderId')} sent message ${p('messageId')} in conversation ${p('conversationId')}`;
    case 'conversation.read':
      return `User ${p('userId')} read conversation ${p('conversationId')} up to message ${p('lastReadMessageId')}`;
    default:
      return `${topic} event`;
  }
}
