import { viewerOf } from '../context.js';
import { listPreferences, setPreference } from '../db/preferences.js';
import { builder } from '../schema/builder.js';
import { NOTIFICATION_KINDS, NotificationKind } from '../schema/notifications.js';
import { NotificationPreference } from '../schema/preferences.js';

builder.queryField('notificationPreferences', (t) =>
  t.field({
    type: [NotificationPreference],
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const stored = await listPreferences(context.services.db, viewerOf(context).id);
      return NOTIFICATION_KINDS.map((kind) => stored.get(kind) ?? { kind, inApp: true, offline: true });
    },
  }),
);

builder.mutationField('setNotificationPreference', (t) =>
  t.field({
    type: NotificationPreference,
    authScopes: { authenticated: true },
    args: {
      kind: t.arg({ type: NotificationKind, required: true }),
      inApp: t.arg.boolean(),
      offline: t.arg.boolean(),
    },
    resolve: (_root, args, context) =>
      setPreference(context.services.db, viewerOf(context).id, args.kind, {
        inApp: args.inApp ?? null,
        offline: args.offline ?? null,
      }),
  }),
);
