import { sql, type Transaction } from 'kysely';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { Database, OrderRow, OrderStatusChangeRow, OrderStatusName, UserRow } from './types.js';
import { userLoader } from './users.js';
import { isAnyOf } from './any-of.js';

/**
 * The fee the payout triggers use (platform_settings). Every process writes
 * its PLATFORM_FEE_PERCENT at start, so plain SQL inserts get the same payout
 * as createOrder; processes of one cluster are expected to agree.
 */
export async function savePlatformFee(db: Db, feePercent: number): Promise<void> {
  await db
    .updateTable('platform_settings')
    .set({ fee_percent: feePercent, updated_at: new Date() })
    .where('id', '=', 1)
    .where('fee_percent', '<>', feePercent)
    .execute();
}

export async function findOrder(db: Db, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Who may list which orders: CONTRACT.md "Rules of access". */
export type OrderScope = { kind: 'customer'; customerId: string } | { kind: 'partner'; partnerId: string } | { kind: 'all' };

export interface OrderPageQuery {
  scope: OrderScope;
  /** Rows to fetch; callers ask for one more than the page to learn hasNextPage. */
  limit: number;
  /** Continue with orders older than this id. */
  beforeId: string | null;
  status: OrderStatusName | null;
}

/** Newest first. */
export async function listOrders(db: Db, query: OrderPageQuery): Promise<OrderRow[]> {
  let select = db.selectFrom('orders').selectAll();
  const { scope } = query;
  if (scope.kind === 'customer') select = select.where('customer_id', '=', scope.customerId);
  if (scope.kind === 'partner') select = select.where('partner_id', '=', scope.partnerId);
  if (query.beforeId !== null) select = select.where('id', '<', query.beforeId);
  if (query.status !== null) select = select.where('status', '=', query.status);
  return select.orderBy('id', 'desc').limit(query.limit).execute();
}

/** The payout is left out: orders_before_insert computes it from the platform fee. */
export async function insertOrder(db: Db, order: { customerId: string; description: string; totalCents: number }): Promise<OrderRow> {
  return db
    .insertInto('orders')
    .values({ customer_id: order.customerId, description: order.description, total_cents: order.totalCents })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Reads the order for a change and locks it until the transaction ends. */
export async function lockOrder(trx: Transaction<Database>, id: string): Promise<OrderRow | undefined> {
  return trx.selectFrom('orders').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * Moves the order to `status`; the triggers check the move, write the history
 * row (with the note, passed as a setting that lasts until the transaction ends),
 * the events, the notification and any earnings.
 */
export async function setOrderStatus(trx: Transaction<Database>, id: string, status: OrderStatusName, note: string | null): Promise<OrderRow> {
  // A setting made for one transaction ends with it: without a note there is nothing to reset (one round trip less).
  if (note !== null) await sql`select set_config('orders.status_note', ${note}, true)`.execute(trx);
  return trx.updateTable('orders').set({ status }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function setOrderPartner(db: Db, id: string, partnerId: string | null): Promise<OrderRow> {
  return db.updateTable('orders').set({ partner_id: partnerId }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/**
 * The hot path of order tracking: one statement, which also checks that the
 * caller's partner is the one assigned. Undefined: no such order for them.
 */
export async function setOrderLocation(
  db: Db,
  id: string,
  partnerId: string,
  location: { latitude: number; longitude: number },
): Promise<OrderRow | undefined> {
  return db
    .updateTable('orders')
    .set({ last_latitude: location.latitude, last_longitude: location.longitude, last_location_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('partner_id', '=', partnerId)
    .returningAll()
    .executeTakeFirst();
}

/** A move the status machine (orders_before_update) refused, as the trigger reports it. */
export interface StatusRefusal {
  from: OrderStatusName | null;
  to: OrderStatusName;
}

/** Recognizes the status machine's error (see order_status_refuse in the orders migration). */
export function statusRefusal(error: unknown): StatusRefusal | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint, detail } = error as { code?: unknown; constraint?: unknown; detail?: unknown };
  if (code !== '23514' || constraint !== 'orders_status_transition' || typeof detail !== 'string') return null;
  try {
    return JSON.parse(detail) as StatusRefusal;
  } catch {
    return null;
  }
}

export interface OrderLoaders {
  order: BatchLoader<string, OrderRow>;
  history: BatchLoader<string, OrderStatusChangeRow[]>;
  user: BatchLoader<string, UserRow>;
}

/**
 * Batched reads for the per-event path: every subscriber of this process that
 * an order event reaches asks in the same turn, and they share one query.
 * Nothing is cached past the batch, so a read is never older than the event
 * that asked for it.
 */
export const orderLoaders = perDatabase(
  (db): OrderLoaders => ({
    order: createBatchLoader(async (ids) => new Map((await db.selectFrom('orders').selectAll().where(isAnyOf('id', ids, 'bigint')).execute()).map((row) => [row.id, row]))),
    history: createBatchLoader(async (orderIds) => {
      const rows = await db.selectFrom('order_status_history').selectAll().where(isAnyOf('order_id', orderIds, 'bigint')).orderBy('id', 'asc').execute();
      const byOrder = new Map<string, OrderStatusChangeRow[]>(orderIds.map((id) => [id, []]));
      for (const row of rows) byOrder.get(row.order_id)?.push(row);
      return byOrder;
    }),
    user: userLoader(db),
  }),
);
