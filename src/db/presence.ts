import { sql } from 'kysely';
import type { Db } from './client.js';
import type { UserRow } from './types.js';
import { isAnyOf } from './any-of.js';

/**
 * The users among `ids` whose presence the viewer may see (presence_visible in
 * the migration: an order or a conversation in common, or themselves); with
 * `everyone` (ADMIN), every known user among them.
 */
export async function visibleUsers(db: Db, viewerId: string, ids: readonly string[], everyone: boolean): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  let select = db.selectFrom('users').selectAll().where(isAnyOf('id', ids, 'text'));
  if (!everyone) select = select.where(sql<boolean>`presence_visible(${viewerId}, users.id)`);
  return select.execute();
}

/** Upserts when the user's last connection closed; never moves back in time. */
export async function saveLastSeen(db: Db, userId: string, at: Date): Promise<void> {
  await sql`
    insert into user_presence as p (user_id, last_seen_at) values (${userId}, ${at})
    on conflict (user_id) do update set last_seen_at = greatest(p.last_seen_at, excluded.last_seen_at)
  `.execute(db);
}

export async function lastSeenOf(db: Db, userIds: readonly string[]): Promise<Map<string, Date>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.selectFrom('user_presence').selectAll().where(isAnyOf('user_id', userIds, 'text')).execute();
  return new Map(rows.map((row) => [row.user_id, new Date(row.last_seen_at)]));
}
