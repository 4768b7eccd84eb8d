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
