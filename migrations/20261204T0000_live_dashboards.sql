-- Indexes for the dashboards (contract part "live"): each figure reads an
-- index range, not the orders table, so a re-execution stays cheap at
-- millions of orders (the plans are in docs/performance.md).

-- ordersByStatus: an index-only scan, grouped in index order.
create index orders_by_status on orders (status);
-- ordersToday.
create index orders_by_created_at on orders (created_at);
-- revenueTodayCents, deliveredToday: the DELIVERED history rows of a day.
create index order_status_history_delivered on order_status_history (changed_at) include (order_id) where status = 'DELIVERED';
-- activePartners, activeOrders: assignments that are not finished.
create index orders_active_by_partner on orders (partner_id)
  where partner_id is not null and status not in ('DELIVERED', 'CANCELLED');
-- earningsTodayCents, earningsTotalCents: one partner's entries, with their amounts.
create index earnings_by_partner_day on earnings (partner_id, created_at) include (amount_cents);
drop index earnings_by_partner;
