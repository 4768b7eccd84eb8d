import { sql } from 'kysely';
import { isUnavailable } from '../errors.js';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { NotificationRow } from './types.js';
import { createWriteGroup, type WriteGroup } from './write-groups.js';
import { isAnyOf } from './any-of.js';

type Executor = Db;

export interface NotificationPageQuery {
  userId: string;
  /** Rows to fetch; callers ask for one more than the page to learn hasNextPage. */
  limit: number;
  /** Continue with rows older than this id. */
  beforeId: string | null;
  unreadOnly: boolean;
}

/** Newest first. */
export async function listNotifications(db: Executor, query: NotificationPageQuery): Promise<NotificationRow[]> {
  let select = db.selectFrom('notifications').selectAll().where('user_id', '=', query.userId);
  if (query.beforeId !== null) select = select.where('id', '<', query.beforeId);
  if (query.unreadOnly) select = select.where('read_at', 'is', null);
  return select.orderBy('id', 'desc').limit(query.limit).execute();
}

/** Oldest first: what a resuming subscriber missed. */
export async function listNotificationsAfter(db: Executor, userId: string, afterId: string, limit: number): Promise<NotificationRow[]> {
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
}

/**
 * Reads a notification by id for the per-event path: a broadcast reaches
 * thousands of subscribers of this process in the same turn, and their reads
 * become one query. Nothing is kept past the batch.
 */
export const notificationLoader = perDatabase(
  (db): BatchLoader<string, NotificationRow> =>
    createBatchLoader(async (ids) => {
      const rows = await db.selectFrom('notifications').selectAll().where(isAnyOf('id', ids, 'bigint')).execute();
      return new Map(rows.map((row) => [row.id, row]));
    }),
);

/** When the notification was created, or null if there is no such notification of this user. */
export async function notificationCreatedAt(db: Executor, userId: string, id: string): Promise<Date | null> {
  const row = await db.selectFrom('notifications').select('created_at').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return row?.created_at ?? null;
}

export async function countUnread(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select(sql<number>`count(*)::int`.as('unread'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.unread;
}

/** The ids among `ids` that belong to the user. */
export async function ownedNotificationIds(db: Executor, userId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('notifications').select('id').where('user_id', '=', userId).where(isAnyOf('id', ids, 'bigint')).execute();
  return new Set(rows.map((row) => row.id));
}

/** Marks the user's notifications among `ids` read (those still unread) and returns all of them. */
export async function markNotificationsRead(db: Executor, userId: string, ids: readonly string[]): Promise<NotificationRow[]> {
  if (ids.length === 0) return [];
  await db
    .updateTable('notifications')
    .set({ read_at: sql`now()` })
    .where('user_id', '=', userId)
    .where(isAnyOf('id', ids, 'bigint'))
    .where('read_at', 'is', null)
    .execute();
  return db.selectFrom('notifications').selectAll().where('user_id', '=', userId).where(isAnyOf('id', ids, 'bigint')).orderBy('id', 'desc').execute();
}

/** Marks every unread notification of the user read; returns the ones it marked. */
export async function markAllNotificationsRead(db: Executor, userId: string): Promise<NotificationRow[]> {
  return db
    .updateTable('notifications')
    .set({ read_at: sql`now()` })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .returningAll()
    .execute();
}

export interface NotificationContent {
  kind: string;
  priority: string;
  title: string;
  body: string;
  data: unknown;
}

/**
 * One notification per recipient, in one statement; with no recipients given,
 * every known user. Recipients who muted the kind are skipped unless it is
 * URGENT. Returns how many were created.
 */
export async function createNotifications(db: Executor, recipients: readonly string[] | null, content: NotificationContent): Promise<number> {
  // One recipient, the most common case: concurrent ones share a statement (write-groups.ts).
  if (recipients?.length === 1) return (await notificationWrites(db)({ userId: recipients[0]!, ...content })) ? 1 : 0;
  const data = jsonOrNull(content.data);
  const result = await sql`
    insert into notifications (user_id, kind, priority, title, body, data)
    select recipient.id, ${content.kind}, ${content.priority}, ${content.title}, ${content.body}, ${data}::jsonb
    from (${recipients === null ? sql`select id from users` : sql`select unnest(${sql.val([...recipients])}::text[])`}) as recipient (id)
    where notification_wanted(recipient.id, ${content.kind}, ${content.priority})
    order by notification_lock_bucket(recipient.id), recipient.id
  `.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

type OneNotification = NotificationContent & { userId: string };

/** Per database: whether each one-recipient notification was created (false: muted). */
const notificationWrites = perDatabase(
  (db): WriteGroup<OneNotification, boolean> =>
    createWriteGroup({
      retryAlone: (error) => !isUnavailable(error),
      writeOne: async (one) => {
        // A plainer statement than the group's, planned in a fraction of the time.
        const result = await sql`
          insert into notifications (user_id, kind, priority, title, body, data)
          select ${one.userId}, ${one.kind}, ${one.priority}, ${one.title}, ${one.body}, ${jsonOrNull(one.data)}::jsonb
          where notification_wanted(${one.userId}, ${one.kind}, ${one.priority})
        `.execute(db);
        return Number(result.numAffectedRows ?? 0n) === 1;
      },
      writeMany: async (group) => {
        // Every user's lock without waiting first: with one busy, nothing is written and each write goes alone,
        // so the busy user holds back only their own. Rows go in in lock order, as every multi-user writer's do;
        // n is each write's place in the group.
        const { rows } = await sql<{ n: string; locked: boolean }>`
          with wanted as materialized (
            select w.n, w.user_id, w.kind, w.priority, w.title, w.body, w.data::jsonb as data
            from unnest(
              ${sql.val(group.map((one) => one.userId))}::text[], ${sql.val(group.map((one) => one.kind))}::text[],
              ${sql.val(group.map((one) => one.priority))}::text[], ${sql.val(group.map((one) => one.title))}::text[],
              ${sql.val(group.map((one) => one.body))}::text[], ${sql.val(group.map((one) => jsonOrNull(one.data)))}::text[]
            ) with ordinality as w (user_id, kind, priority, title, body, data, n)
            -- notification_wanted()'s rule as a join: one lookup for the group instead of a function call per row.
            left join notification_preferences as preference on preference.user_id = w.user_id and preference.kind = w.kind
            where w.priority = 'URGENT' or coalesce(preference.in_app, true)
          ), locks as materialized (
            select coalesce(bool_and(try_lock_user_events(users.user_id)), true) as locked
            from (select distinct user_id from wanted) as users
          ), inserted as (
            insert into notifications (user_id, kind, priority, title, body, data)
            select user_id, kind, priority, title, body, data
            from wanted, locks
            where locks.locked
            order by notification_lock_bucket(user_id), user_id, n
          )
          select wanted.n, locks.locked from wanted, locks
        `.execute(db);
        if (rows.some((row) => !row.locked)) throw new UserBusy();
        const created = new Set(rows.map((row) => Number(row.n)));
        return group.map((_one, index) => created.has(index + 1));
      },
    }),
);

/** A group met a user whose lock another transaction holds: it wrote nothing, and each write goes alone. */
class UserBusy extends Error {
  constructor() {
    super('a user of the group is being written by another transaction');
  }
}

function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
