import { sql } from 'kysely';
import type { Db } from './client.js';
import type { NotificationPreferenceRow } from './types.js';

export interface Preference {
  kind: string;
  inApp: boolean;
  offline: boolean;
}

/** The user's stored preferences; kinds without a row use the defaults. */
export async function listPreferences(db: Db, userId: string): Promise<Map<string, Preference>> {
  const rows = await db.selectFrom('notification_preferences').selectAll().where('user_id', '=', userId).execute();
  return new Map(rows.map((row: NotificationPreferenceRow) => [row.kind, { kind: row.kind, inApp: row.in_app, offline: row.offline }]));
}

/** Upserts one preference; a null value keeps what is stored (or the default, true). */
export async function setPreference(
  db: Db,
  userId: string,
  kind: string,
  change: { inApp: boolean | null; offline: boolean | null },
): Promise<Preference> {
  const { rows } = await sql<{ kind: string; in_app: boolean; offline: boolean }>`
    insert into notification_preferences as p (user_id, kind, in_app, offline)
    values (${userId}, ${kind}, coalesce(${change.inApp}::boolean, true), coalesce(${change.offline}::boolean, true))
    on conflict (user_id, kind) do update set
      in_app = coalesce(${change.inApp}::boolean, p.in_app),
      offline = coalesce(${change.offline}::boolean, p.offline),
      updated_at = now()
    returning kind, in_app, offline
  `.execute(db);
  const row = rows[0]!;
  return { kind: row.kind, inApp: row.in_app, offline: row.offline };
}
