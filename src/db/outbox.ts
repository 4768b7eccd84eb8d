import { sql } from 'kysely';
import type { OutboxEvent } from '../pubsub/topics.js';
import type { Db } from './client.js';

/** Outbox rows after `afterId`, oldest first, as the events they become. */
export async function readOutboxAfter(db: Db, afterId: string, limit: number): Promise<OutboxEvent<unknown>[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'topic', 'payload', 'created_at'])
    .where('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ id: row.id, topic: row.topic, payload: row.payload, createdAt: new Date(row.created_at).toISOString() }));
}

export async function lastPublishedOutboxId(db: Db): Promise<string> {
  const row = await db.selectFrom('outbox_relay').select('last_published_id').where('id', '=', 1).executeTakeFirst();
  return row?.last_published_id ?? '0';
}

/**
 * Deletes up to `limit` published rows older than the retention window, oldest
 * first; returns how many. Small batches keep each delete short.
 */
export async function pruneOutbox(db: Db, publishedUpTo: string, retentionHours: number, limit = 10_000): Promise<number> {
  const result = await sql`
    delete from outbox
    where id in (
      select id from outbox
      where id <= ${publishedUpTo} and created_at < now() - make_interval(hours => ${retentionHours})
      order by id
      limit ${limit}
    )
  `.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * How many committed events the relay has not published yet (by id distance):
 * against the leader's own count when given, else the recorded progress (which trails it by up to a poll).
 */
export async function relayLag(db: Db, publishedId: string | null = null): Promise<number> {
  const published = publishedId === null ? sql`(select last_published_id from outbox_relay where id = 1)` : sql`${publishedId}::bigint`;
  const row = await sql<{ lag: number }>`
    select (coalesce((select max(id) from outbox), 0) - ${published})::int as lag
  `.execute(db);
  return row.rows[0]?.lag ?? 0;
}
