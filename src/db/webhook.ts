import { sql } from 'kysely';
import type { Db } from './client.js';

/** A delivery a process has claimed: nobody else sends it until its lease lapses. */
export interface ClaimedDelivery {
  notificationId: string;
  attempts: number;
  userId: string;
  kind: string;
  priority: string;
  title: string;
  body: string;
  data: unknown;
  createdAt: Date;
}

/**
 * Takes on the notifications delivered since the cursor, a position in the
 * outbox (positions never go back, unlike ids, which concurrent writers commit
 * out of order): one pending delivery each, due OFFLINE_DELAY_S after
 * creation. Already read or too old to send: not taken on. Returns how many
 * outbox rows it looked at (0: caught up).
 */
export async function enqueueNewNotifications(db: Db, options: { delayS: number; giveUpS: number; batch: number }): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // The row lock makes concurrent processes take turns; ON CONFLICT would absorb a race anyway.
    const cursor = await sql<{ last: string }>`select last_outbox_position::text as last from webhook_cursor where id = 1 for update`.execute(trx);
    const after = cursor.rows[0]?.last ?? '0';
    const scanned = await sql<{ last: string | null; scanned: number }>`
      select max(position)::text as last, count(*)::int as scanned
      from (select position from outbox where position > ${after} order by position limit ${options.batch}) as batch
    `.execute(trx);
    const { last, scanned: count } = scanned.rows[0]!;
    if (last === null) return 0;
    await sql`
      insert into webhook_deliveries (notification_id, next_attempt_at)
      select n.id, n.created_at + ${options.delayS}::float8 * interval '1 second'
      from outbox o
      join notifications n on n.id = (o.payload ->> 'notificationId')::bigint
      where o.position > ${after} and o.position <= ${last}
        and o.topic = 'notification.created'
        and n.read_at is null
        and n.created_at > now() - ${options.giveUpS}::float8 * interval '1 second'
      on conflict (notification_id) do nothing
    `.execute(trx);
    await sql`update webhook_cursor set last_outbox_position = ${last} where id = 1`.execute(trx);
    return count;
  });
}

/**
 * Claims up to `limit` due deliveries with FOR UPDATE SKIP LOCKED, so two
 * processes never claim the same row, and leases them for `leaseMs`. Rows
 * whose notification was read meanwhile, or whose kind the user muted for
 * offline delivery, are settled as skipped instead.
 */
export async function claimDueDeliveries(
  db: Db,
  options: { limit: number; leaseMs: number },
): Promise<{ claimed: ClaimedDelivery[]; skipped: number }> {
  return db.transaction().execute(async (trx) => {
    const due = await sql<{
      notification_id: string;
      attempts: number;
      user_id: string;
      kind: string;
      priority: string;
      title: string;
      body: string;
      data: unknown;
      created_at: Date;
      read: boolean;
      offline_wanted: boolean;
    }>`
      select d.notification_id::text, d.attempts, n.user_id, n.kind, n.priority, n.title, n.body, n.data, n.created_at,
             n.read_at is not null as read,
             coalesce(p.offline, true) as offline_wanted
      from webhook_deliveries d
      join notifications n on n.id = d.notification_id
      left join notification_preferences p on p.user_id = n.user_id and p.kind = n.kind
      where d.state = 'pending' and d.next_attempt_at <= now()
      order by d.next_attempt_at, d.notification_id
      limit ${options.limit}
      for update of d skip locked
    `.execute(trx);
    const read = due.rows.filter((row) => row.read).map((row) => row.notification_id);
    const muted = due.rows.filter((row) => !row.read && !row.offline_wanted).map((row) => row.notification_id);
    const claimed = due.rows.filter((row) => !row.read && row.offline_wanted);
    await settleSkipped(trx, read, 'read before delivery');
    await settleSkipped(trx, muted, 'offline delivery muted for this kind');
    if (claimed.length > 0) {
      await sql`
        update webhook_deliveries
        set next_attempt_at = now() + ${options.leaseMs}::float8 * interval '1 millisecond', updated_at = now()
        where notification_id = any(${claimed.map((row) => row.notification_id)}::bigint[])
      `.execute(trx);
    }
    const deliveries = claimed.map((row) => ({
      notificationId: row.notification_id,
      attempts: row.attempts,
      userId: row.user_id,
      kind: row.kind,
      priority: row.priority,
      title: row.title,
      body: row.body,
      data: row.data,
      createdAt: new Date(row.created_at),
    }));
    return { claimed: deliveries, skipped: read.length + muted.length };
  });
}

export async function settleSkipped(db: Db, notificationIds: readonly string[], why: string): Promise<void> {
  if (notificationIds.length === 0) return;
  await sql`
    update webhook_deliveries
    set state = 'skipped', last_error = ${why}, updated_at = now()
    where notification_id = any(${[...notificationIds]}::bigint[]) and state = 'pending'
  `.execute(db);
}

export async function settleSent(db: Db, notificationId: string): Promise<void> {
  await sql`
    update webhook_deliveries
    set state = 'sent', attempts = attempts + 1, last_error = null, updated_at = now()
    where notification_id = ${notificationId}
  `.execute(db);
}

/** Records a failed attempt: pending again after `retryInMs`, or failed for good when that is past `giveUpAt`. */
export async function settleFailedAttempt(
  db: Db,
  notificationId: string,
  failure: { error: string; retryInMs: number; giveUpAt: Date },
): Promise<'retrying' | 'failed'> {
  const { rows } = await sql<{ state: 'pending' | 'failed' }>`
    update webhook_deliveries
    set attempts = attempts + 1,
        last_error = ${failure.error.slice(0, 500)},
        state = case when now() + ${failure.retryInMs}::float8 * interval '1 millisecond' > ${failure.giveUpAt}::timestamptz then 'failed' else 'pending' end,
        next_attempt_at = now() + ${failure.retryInMs}::float8 * interval '1 millisecond',
        updated_at = now()
    where notification_id = ${notificationId}
    returning state
  `.execute(db);
  return rows[0]?.state === 'pending' ? 'retrying' : 'failed';
}

/** Forgets settled deliveries long past any retry; their notifications are never taken on again (the cursor moved on). */
export async function pruneSettledDeliveries(db: Db, olderThanS: number): Promise<void> {
  await sql`
    delete from webhook_deliveries
    where notification_id in (
      select notification_id from webhook_deliveries
      where state <> 'pending' and updated_at < now() - ${olderThanS}::float8 * interval '1 second'
      limit 1000)
  `.execute(db);
}
