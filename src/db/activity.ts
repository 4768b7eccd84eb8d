import type { Db } from './client.js';

/** One outbox row as the activity feed shows it; its id is its position, the order it was delivered in. */
export interface ActivityItem {
  id: string;
  topic: string;
  payload: unknown;
  createdAt: Date | string;
}

export interface ActivityPageQuery {
  /** Rows to fetch; callers ask for one more than the page to learn hasNextPage. */
  limit: number;
  /** Continue with rows delivered before this position. */
  beforeId: string | null;
  /** Exact topic, or every topic. */
  topic: string | null;
}

/** The delivered outbox, newest first; rows the relay has not positioned yet are not shown until they are. */
export async function listActivity(db: Db, query: ActivityPageQuery): Promise<ActivityItem[]> {
  let select = db.selectFrom('outbox').select(['position', 'topic', 'payload', 'created_at']).where('position', 'is not', null);
  if (query.beforeId !== null) select = select.where('position', '<', query.beforeId);
  if (query.topic !== null) select = select.where('topic', '=', query.topic);
  const rows = await select.orderBy('position', 'desc').limit(query.limit).execute();
  return rows.map((row) => ({ id: row.position!, topic: row.topic, payload: row.payload, createdAt: row.created_at }));
}
