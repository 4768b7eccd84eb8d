import { sql } from 'kysely';
import type { OutboxEvent } from '../pubsub/topics.js';
import type { Db, DbSession } from './client.js';

/**
 * Outbox rows travel as events whose `id` is their position: the delivery order
 * the relay gave them (see the concurrent-event-writers migration).
 */
interface PositionedRow {
  position: string;
  topic: string;
  payload: unknown;
  created_at: Date | string;
}

function asEvent(row: PositionedRow): OutboxEvent<unknown> {
  return { id: row.position, topic: row.topic, payload: row.payload, createdAt: new Date(row.created_at).toISOString() };
}

/** Positioned rows after `afterPosition`, in delivery order, as the events they become. */
export async function readOutboxAfter(db: Db, afterPosition: string, limit: number): Promise<OutboxEvent<unknown>[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['position', 'topic', 'payload', 'created_at'])
    .where('position', '>', afterPosition)
    .orderBy('position', 'asc')
    .limit(limit)
    .execute();
  return rows.map((row) => asEvent({ ...row, position: row.position! }));
}

/** What a take knew of the transactions around it (outbox_take_positions_after in the migrations says what each is). */
export interface TakeHorizon {
  oldestRunning: bigint;
  newestId: bigint | null;
  taker: bigint | null;
}

interface TakenRow extends Partial<PositionedRow> {
  oldest_running: string | null;
  newest_id: string | null;
  taker: string | null;
}

/**
 * Gives up to `limit` committed rows with an id above `afterId` and without a
 * position the next positions, in id order, and returns them in that order
 * with the take's horizon. The relay leader's job, on the session that holds
 * its leadership: one caller at a time.
 */
export async function takeOutboxPositions(
  session: DbSession,
  afterId: string,
  limit: number,
): Promise<{ events: OutboxEvent<unknown>[]; horizon: TakeHorizon }> {
  const rows = await session.query<TakenRow>(
    `select position::text as position, topic, payload, created_at, oldest_running::text, newest_id::text, taker::text
     from outbox_take_positions_after($1, $2) order by outbox_take_positions_after.position`,
    [afterId, limit],
  );
  // Ordered by position, the horizon's row (no position) comes last.
  const last = rows.pop();
  if (!last || last.oldest_running === null) throw new Error('outbox_take_positions_after gave no horizon');
  const horizon = {
    oldestRunning: BigInt(last.oldest_running),
    newestId: last.newest_id === null ? null : BigInt(last.newest_id),
    taker: last.taker === null ? null : BigInt(last.taker),
  };
  return { events: rows.map((row) => asEvent(row as PositionedRow)), horizon };
}

/** The newest position handed out, '0' before the first. */
export async function lastOutboxPosition(session: DbSession): Promise<string> {
  // Kept in outbox_relay: the outbox itself may have been pruned to nothing.
  const [row] = await session.query<{ position: string }>('select last_position::text as position from outbox_relay where id = 1');
  return row?.position ?? '0';
}

export async function lastPublishedOutboxPosition(db: Db): Promise<string> {
  const row = await db.selectFrom('outbox_relay').select('last_published_position').where('id', '=', 1).executeTakeFirst();
  return row?.last_published_position ?? '0';
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
      where position <= ${publishedUpTo} and created_at < now() - make_interval(hours => ${retentionHours})
      order by position
      limit ${limit}
    )
  `.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * How many committed events the relay has not published yet: rows without a
 * position, plus positioned rows past the leader's own count when given, else
 * past the recorded progress (which trails it by up to a poll).
 */
export async function relayLag(db: Db, publishedPosition: string | null = null): Promise<number> {
  const published = publishedPosition === null ? sql`(select last_published_position from outbox_relay where id = 1)` : sql`${publishedPosition}::bigint`;
  const row = await sql<{ lag: number }>`
    select (
      (select count(*) from outbox where position is null)
      + greatest(coalesce((select max(position) from outbox where position is not null), 0) - ${published}, 0)
    )::int as lag
  `.execute(db);
  return row.rows[0]?.lag ?? 0;
}
