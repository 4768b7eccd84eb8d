import type { UserRow } from '../db/types.js';
import { builder } from './builder.js';
import { DateTime } from './scalars.js';
import { User } from './users.js';

export interface PresenceView {
  user: UserRow;
  online: boolean;
  lastSeenAt: Date | null;
}

export const Presence = builder.objectRef<PresenceView>('Presence').implement({
  fields: (t) => ({
    user: t.field({ type: User, resolve: (presence) => presence.user }),
    online: t.exposeBoolean('online', { description: 'True while the user has at least one open connection anywhere in the cluster.' }),
    lastSeenAt: t.field({
      type: DateTime,
      nullable: true,
      description: "When the user's last connection closed; null while online or never seen.",
      resolve: (presence) => (presence.online ? null : presence.lastSeenAt),
    }),
  }),
});
