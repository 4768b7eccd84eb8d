begin;
-- The relay looked for rows without a position from the start of
-- outbox_unpositioned every time. A positioned row leaves that index only when
-- VACUUM runs, and autovacuum visits the outbox once a fifth of it is dead: in
-- a day's retention that is hours. Every take walked every row positioned
-- since, 2.7 ms per take with 360,000 of them (EXPLAIN ANALYZE, this machine),
-- growing without bound between vacuums. Now the relay scans above a floor
-- below which every row is positioned or will never commit (relay-floor.ts),
-- and this function gives it what it needs to raise the floor safely.

-- A row's transaction has its transaction id before the row has its id, so a
-- row with a lower id than one already visible belongs to a transaction with a
-- lower transaction id than anything that starts later. CASE evaluates its
-- condition first.
alter table outbox alter column id set default
  case when pg_current_xact_id() is not null then nextval('outbox_id_seq'::regclass) end;

-- outbox_take_positions above a floor, and one last row (id null) with:
-- oldest_running, the oldest transaction still running before the scan (every
-- older one has committed or rolled back, and what it committed the scan sees);
-- newest_id, the highest id visible before this take wrote anything; taker,
-- this take's own transaction id (null when it positioned nothing). Every
-- transaction with a row at or below newest_id that the take did not see has a
-- lower transaction id than taker.
create function outbox_take_positions_after(p_after bigint, p_limit int)
returns table (id bigint, "position" bigint, topic text, payload jsonb, created_at timestamptz,
               oldest_running xid8, newest_id bigint, taker xid8)
language plpgsql as $$
declare
  v_oldest_running xid8 := pg_snapshot_xmin(pg_current_snapshot());
  v_newest_id bigint := (select max(outbox.id) from outbox);
begin
  return query
  with batch as (
    select o.id, row_number() over (order by o.id) as n
    from (select outbox.id from outbox where outbox.position is null and outbox.id > p_after order by outbox.id limit p_limit) as o
  ),
  base as (
    select outbox_relay.last_position as last from outbox_relay where outbox_relay.id = 1
  ),
  positioned as (
    update outbox
    set position = base.last + batch.n
    from batch, base
    where outbox.id = batch.id
    returning outbox.id, outbox.position, outbox.topic, outbox.payload, outbox.created_at
  ),
  moved as (
    update outbox_relay
    set last_position = (select max(p.position) from positioned as p)
    where outbox_relay.id = 1 and exists (select 1 from positioned)
  )
  select p.id, p.position, p.topic, p.payload, p.created_at, null::xid8, null::bigint, null::xid8 from positioned as p;
  return query select null::bigint, null::bigint, null::text, null::jsonb, null::timestamptz,
                      v_oldest_running, v_newest_id, pg_current_xact_id_if_assigned();
end
$$;
-- Replaced by the function above.
drop function outbox_take_positions(int);
commit;
