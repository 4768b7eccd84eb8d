import type { Db } from './client.js';

/** One outbox row as the activity feed shows it. */
export interface ActivityItem {
  id: string;
  topic: string;
  payload: unknown;
  createdAt: Date | string;
}

export interface ActivityPageQuery {
  /** Rows to fetch; callers ask for one more than the page to learn hasNextPage. */
  limit: number;
  /** Continue with rows older than this id. */
  beforeId: string | null;
  /** Exact topic, or every topic. */
  topic: string | null;
}

/** The outbox, newest first. */
export async function listActivity(db: Db, query: ActivityPageQuery): Promise<ActivityItem[]> {
  let select = db.selectFrom('outbox').select(['id', 'topic', 'payload', 'created_at']);
  if (query.beforeId !== null) select = select.where('id', '<', query.beforeId);
  if (query.topic !== null) select = select.where('topic', '=', query.topic);
  const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map((row) => ({ id: row.id, topic: row.topic, payload: row.payload, createdAt: row.created_at }));
}
