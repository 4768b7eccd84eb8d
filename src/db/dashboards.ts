import { sql } from 'kysely';
import type { Db } from './client.js';
import type { OrderStatusName } from './types.js';

/** The start of today, UTC: dashboards count days as UTC days. */
const TODAY = sql`(date_trunc('day', now() at time zone 'utc') at time zone 'utc')`;

export interface AdminFigures {
  byStatus: Partial<Record<OrderStatusName, number>>;
  ordersToday: number;
  revenueTodayCents: number;
  activePartners: number;
}

/**
 * The admin dashboard's figures in one statement, each from an index
 * (migrations/…_live_dashboards.sql): counts by status (an index-only scan
 * of orders_by_status), today's orders (orders_by_created_at), today's
 * deliveries (the partial index of DELIVERED history rows) and the partners
 * with an active order (the partial index of active assignments).
 */
export async function adminFigures(db: Db): Promise<AdminFigures> {
  const result = await sql<{ byStatus: Record<string, number> | null; ordersToday: number; revenueTodayCents: string; activePartners: number }>`
    select
      (select json_object_agg(status, orders) from (select status, count(*)::int as orders from orders group by status) as counts) as "byStatus",
      (select count(*)::int from orders where created_at >= ${TODAY}) as "ordersToday",
      (select coalesce(sum(o.total_cents), 0)::bigint
       from order_status_history h
       join orders o on o.id = h.order_id
       where h.status = 'DELIVERED' and h.changed_at >= ${TODAY}) as "revenueTodayCents",
      (select count(distinct partner_id)::int
       from orders
       where partner_id is not null and status not in ('DELIVERED', 'CANCELLED')) as "activePartners"
  `.execute(db);
  const row = result.rows[0]!;
  return { byStatus: row.byStatus ?? {}, ordersToday: row.ordersToday, revenueTodayCents: Number(row.revenueTodayCents), activePartners: row.activePartners };
}

export interface PartnerFigures {
  activeOrders: number;
  deliveredToday: number;
  earningsTodayCents: number;
  earningsTotalCents: number;
}

/** One partner's dashboard figures in one statement, from the partner's own index ranges. */
export async function partnerFigures(db: Db, partnerId: string): Promise<PartnerFigures> {
  const result = await sql<{ activeOrders: number; deliveredToday: number; earningsTodayCents: string; earningsTotalCents: string }>`
    select
      (select count(*)::int
       from orders
       where partner_id = ${partnerId} and status not in ('DELIVERED', 'CANCELLED')) as "activeOrders",
      (select count(*)::int
       from order_status_history h
       join orders o on o.id = h.order_id
       where h.status = 'DELIVERED' and h.changed_at >= ${TODAY} and o.partner_id = ${partnerId}) as "deliveredToday",
      (select coalesce(sum(amount_cents), 0)::bigint from earnings where partner_id = ${partnerId} and created_at >= ${TODAY}) as "earningsTodayCents",
      (select coalesce(sum(amount_cents), 0)::bigint from earnings where partner_id = ${partnerId}) as "earningsTotalCents"
  `.execute(db);
  const row = result.rows[0]!;
  return {
    activeOrders: row.activeOrders,
    deliveredToday: row.deliveredToday,
    earningsTodayCents: Number(row.earningsTodayCents),
    earningsTotalCents: Number(row.earningsTotalCents),
  };
}
