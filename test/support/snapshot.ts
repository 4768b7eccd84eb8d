import type { TestServer } from './server.js';

/** Tables whose rows the API writes; a refused call must leave every one as it was. */
export const STORED_TABLES = [
  'users',
  'partners',
  'notifications',
  'notification_preferences',
  'orders',
  'order_status_history',
  'earnings',
  'conversations',
  'conversation_participants',
  'messages',
  'outbox',
];

/** What a row is made of, where not all of it: an outbox row's position is the relay's, given after the writer committed. */
const ROW_CONTENT: Record<string, string> = { outbox: 'row(r.id, r.topic, r.payload, r.created_at)' };

/** Row count and content hash per stored table, in one round trip. */
export async function snapshot(t: TestServer): Promise<Record<string, string>> {
  const parts = STORED_TABLES.map((table) => {
    const row = ROW_CONTENT[table] ?? 'r';
    return `select '${table}' as name, count(*)::text || ':' || coalesce(md5(string_agg(${row}::text, '|' order by ${row}::text)), '') as state from ${table} r`;
  });
  const rows = await t.sql<{ name: string; state: string }>(parts.join(' union all '));
  return Object.fromEntries(rows.map((row) => [row.name, row.state]));
}
