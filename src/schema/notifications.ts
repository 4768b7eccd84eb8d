import type { NotificationRow } from '../db/types.js';
import { builder } from './builder.js';
import { connectionType } from './pagination.js';
import { DateTime, Json } from './scalars.js';

export const NOTIFICATION_KINDS = ['ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'MENTION', 'PAYMENT', 'SYSTEM', 'GENERAL'] as const;
export const NOTIFICATION_PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const;
export type NotificationKindName = (typeof NOTIFICATION_KINDS)[number];
export type NotificationPriorityName = (typeof NOTIFICATION_PRIORITIES)[number];

export const NotificationKind = builder.enumType('NotificationKind', { values: NOTIFICATION_KINDS });
export const NotificationPriority = builder.enumType('NotificationPriority', { values: NOTIFICATION_PRIORITIES });

export const Notification = builder.objectRef<NotificationRow>('Notification').implement({
  fields: (t) => ({
    id: t.exposeID('id', {
      description: 'Opaque; strictly increasing in creation order for one user, usable as a resume point.',
    }),
    kind: t.field({ type: NotificationKind, resolve: (row) => row.kind as NotificationKindName }),
    priority: t.field({ type: NotificationPriority, resolve: (row) => row.priority as NotificationPriorityName }),
    title: t.exposeString('title'),
    body: t.exposeString('body'),
    data: t.field({ type: Json, nullable: true, resolve: (row) => row.data ?? null }),
    read: t.boolean({ resolve: (row) => row.read_at !== null }),
    readAt: t.field({ type: DateTime, nullable: true, resolve: (row) => row.read_at }),
    createdAt: t.field({ type: DateTime, resolve: (row) => row.created_at }),
  }),
});

export const NotificationConnection = connectionType('Notification', Notification);

export const MarkReadPayload = builder.objectRef<{ notifications: NotificationRow[]; unreadCount: number }>('MarkReadPayload').implement({
  fields: (t) => ({
    notifications: t.field({
      type: [Notification],
      description: 'The notifications that were marked (only the caller\'s own).',
      resolve: (payload) => payload.notifications,
    }),
    unreadCount: t.exposeInt('unreadCount', { description: "The caller's unread count after the change." }),
  }),
});

export const SendNotificationInput = builder.inputType('SendNotificationInput', {
  fields: (t) => ({
    userIds: t.idList({ required: false, description: 'Recipients; empty or omitted means every known user (a system broadcast).' }),
    kind: t.field({ type: NotificationKind, required: false, defaultValue: 'GENERAL' }),
    priority: t.field({ type: NotificationPriority, required: false, defaultValue: 'NORMAL' }),
    title: t.string({ required: true }),
    body: t.string({ required: true }),
    data: t.field({ type: Json, required: false }),
  }),
});
