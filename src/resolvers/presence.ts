import type { Viewer } from '../auth/viewer.js';
import { viewerOf, type Context } from '../context.js';
import { visibleUsers } from '../db/presence.js';
import type { UserRow } from '../db/types.js';
import { badInput } from '../errors.js';
import { builder } from '../schema/builder.js';
import { Presence, type PresenceView } from '../schema/presence.js';
import { closingWith } from '../streams/lean.js';

const MAX_USER_IDS = 100;

function userIdList(ids: readonly (string | number)[]): string[] {
  if (ids.length > MAX_USER_IDS) throw badInput('userIds', `at most ${MAX_USER_IDS} ids`);
  const unique = [...new Set(ids.map(String))];
  if (unique.some((id) => id.length === 0 || id.length > 200)) throw badInput('userIds', 'ids must be 1–200 characters');
  return unique;
}

/** The visible users among `ids`, in the order asked. */
async function visible(context: Context, viewer: Viewer, ids: readonly string[]): Promise<UserRow[]> {
  const rows = await visibleUsers(context.services.db, viewer.id, ids, viewer.role === 'ADMIN');
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

async function currentPresence(context: Context, users: UserRow[]): Promise<{ views: PresenceView[]; versions: Map<string, number> }> {
  const states = await context.services.presence.read(users.map((user) => user.id));
  const versions = new Map<string, number>();
  const views = users.map((user) => {
    const state = states.get(user.id)!;
    versions.set(user.id, state.version);
    return { user, online: state.online, lastSeenAt: state.lastSeenAt };
  });
  return { views, versions };
}

builder.queryField('presence', (t) =>
  t.field({
    type: [Presence],
    description: 'Presence of users the caller shares an order or a conversation with (ADMIN: anyone); others are left out.',
    authScopes: { authenticated: true },
    args: { userIds: t.arg.idList({ required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const users = await visible(context, viewer, userIdList(args.userIds));
      return (await currentPresence(context, users)).views;
    },
  }),
);

builder.subscriptionField('presenceChanged', (t) =>
  t.field({
    type: Presence,
    description: 'First the current presence of each visible user, then every change.',
    authScopes: { authenticated: true },
    args: { userIds: t.arg.idList({ required: true }) },
    subscribe: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const ids = userIdList(args.userIds);
      // Every asked user's channel, visible or not yet: visibility is decided per event,
      // so a user who shares an order from now on is heard, and one who no longer does is not.
      const live = await context.services.pubsub.subscribe(
        ids.map((id) => ['presence.changed', id] as const),
        { dedupe: false },
      );
      async function* run(): AsyncGenerator<PresenceView> {
        const { views, versions } = await currentPresence(context, await visible(context, viewer, ids));
        const online = new Map(views.map((view) => [view.user.id, view.online]));
        for (const view of views) yield view;
        for await (const event of live) {
          // Versions order one user's changes, which may reach us from different processes out of order.
          if (event.version <= (versions.get(event.userId) ?? 0)) continue;
          versions.set(event.userId, event.version);
          if (online.get(event.userId) === event.online) continue;
          const [user] = await visible(context, viewer, [event.userId]);
          if (!user) continue;
          online.set(event.userId, event.online);
          yield { user, online: event.online, lastSeenAt: event.lastSeenAt === null ? null : new Date(event.lastSeenAt) };
        }
      }
      return closingWith(run(), live);
    },
    resolve: (view) => view,
  }),
);
