import { viewerOf } from '../context.js';
import { badInput, notFound } from '../errors.js';
import {
  countUnread,
  createNotifications,
  listNotifications,
  listNotificationsAfter,
  markAllNotificationsRead,
  markNotificationsRead,
  notificationCreatedAt,
  notificationLoader,
  ownedNotificationIds,
} from '../db/notifications.js';
import { idAfter } from '../pubsub/topics.js';
import { builder } from '../schema/builder.js';
import { MarkReadPayload, Notification, NotificationConnection, SendNotificationInput } from '../schema/notifications.js';
import { loadPage, pageArgs } from '../schema/pagination.js';
import { boundedText, optionalId, rowId } from '../input/arguments.js';
import { assertResumable, currentThenChanges, replayThenLive } from '../streams/replay.js';

const MAX_RECIPIENTS = 10_000;

builder.queryFields((t) => ({
  notifications: t.field({
    type: NotificationConnection,
    authScopes: { authenticated: true },
    args: { ...pageArgs(t.arg, 20), unreadOnly: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, context) => {
      const { config, db } = context.services;
      return loadPage(args, 20, config.limits.pageSizeMax, (page) =>
        listNotifications(db, { ...page, userId: viewerOf(context).id, unreadOnly: args.unreadOnly ?? false }),
      );
    },
  }),
  unreadNotificationCount: t.int({
    authScopes: { authenticated: true },
    resolve: (_root, _args, context) => countUnread(context.services.db, viewerOf(context).id),
  }),
}));

builder.mutationFields((t) => ({
  markRead: t.field({
    type: MarkReadPayload,
    authScopes: { authenticated: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: async (_root, args, context) => {
      const { config, db } = context.services;
      const userId = viewerOf(context).id;
      if (args.ids.length > config.limits.markReadMaxIds) throw badInput('ids', `at most ${config.limits.markReadMaxIds} ids`);
      const ids = [...new Set(args.ids.map((id) => rowId(String(id), 'ids')))];
      return db.transaction().execute(async (trx) => {
        const owned = await ownedNotificationIds(trx, userId, ids);
        const foreign = ids.find((id) => !owned.has(id));
        // Someone else's notification answers exactly like a missing one.
        if (foreign !== undefined) throw notFound(`Notification ${foreign}`);
        const notifications = await markNotificationsRead(trx, userId, ids);
        return { notifications, unreadCount: await countUnread(trx, userId) };
      });
    },
  }),
  markAllRead: t.field({
    type: MarkReadPayload,
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const userId = viewerOf(context).id;
      return context.services.db.transaction().execute(async (trx) => ({
        notifications: await markAllNotificationsRead(trx, userId),
        unreadCount: await countUnread(trx, userId),
      }));
    },
  }),
  sendNotification: t.int({
    description: 'ADMIN only. Returns how many notifications were created.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: SendNotificationInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const { config, db } = context.services;
      const title = boundedText(input.title, 'input.title', { min: 1, max: config.limits.notificationTitleMax, trim: true });
      const body = boundedText(input.body, 'input.body', { max: config.limits.notificationBodyMax });
      const userIds = input.userIds?.length ? [...new Set(input.userIds.map(String))] : null;
      if (userIds && userIds.length > MAX_RECIPIENTS) throw badInput('input.userIds', `at most ${MAX_RECIPIENTS} recipients`);
      if (userIds?.some((id) => id.trim() === '' || id.length > 200)) throw badInput('input.userIds', 'ids must be 1–200 characters');
      return createNotifications(db, userIds, {
        kind: input.kind ?? 'GENERAL',
        priority: input.priority ?? 'NORMAL',
        title,
        body,
        data: input.data ?? null,
      });
    },
  }),
}));

builder.subscriptionFields((t) => ({
  notificationAdded: t.field({
    type: Notification,
    description: "The caller's new notifications. With since, first replays every later notification, then goes live: no gap, no duplicate.",
    authScopes: { authenticated: true },
    args: { since: t.arg.id() },
    subscribe: async (_root, args, context) => {
      const { db, pubsub } = context.services;
      const userId = viewerOf(context).id;
      const since = optionalId(args.since, 'since');
      if (since !== null) assertResumable(await notificationCreatedAt(db, userId, since), 'since', context.services.config.outboxRetentionHours);
      const live = await pubsub.subscribe([['notification.created', userId]]);
      return replayThenLive({
        live,
        since,
        replay: (afterId, limit) => listNotificationsAfter(db, userId, afterId, limit),
        itemId: (row) => row.id,
        eventItemId: (event) => event.payload.notificationId,
        load: async (event) => (await notificationLoader(db)(event.payload.notificationId)) ?? null,
        isAfter: idAfter,
      });
    },
    resolve: (row) => row,
  }),
  unreadCountChanged: t.int({
    description: "The caller's unread count, first its current value, then every change (from any device).",
    authScopes: { authenticated: true },
    subscribe: async (_root, _args, context) => {
      const { db, pubsub } = context.services;
      const userId = viewerOf(context).id;
      const live = await pubsub.subscribe<'notification.created' | 'notification.read'>([
        ['notification.created', userId],
        ['notification.read', userId],
      ]);
      return currentThenChanges(live, () => countUnread(db, userId));
    },
    resolve: (count) => count,
  }),
}));
