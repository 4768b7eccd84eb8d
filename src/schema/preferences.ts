import type { Preference } from '../db/preferences.js';
import { builder } from './builder.js';
import { NotificationKind, type NotificationKindName } from './notifications.js';

export const NotificationPreference = builder.objectRef<Preference>('NotificationPreference').implement({
  fields: (t) => ({
    kind: t.field({ type: NotificationKind, resolve: (preference) => preference.kind as NotificationKindName }),
    inApp: t.exposeBoolean('inApp', { description: 'False: notifications of this kind are not created for the user (URGENT ones still are).' }),
    offline: t.exposeBoolean('offline', { description: 'False: no offline delivery (webhook) for this kind.' }),
  }),
});
