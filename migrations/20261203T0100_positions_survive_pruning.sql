begin;
-- Positions never go back. The next position used to be max(position) + 1 over
-- the outbox; once the retention had pruned every published row (a quiet spell
-- longer than OUTBOX_RETENTION_HOURS) the next event got position 1 again, and
-- every subscriber that remembered a higher position dropped it as a repeat.
-- The highest position handed out is now kept in outbox_relay, moved by the
-- statement that hands positions out (only the relay leader runs it).

alter table outbox_relay add column last_position bigint not null default 0;
update outbox_relay
set last_position = greatest(
  last_published_position,
  coalesce((select max(position) from outbox where position is not null), 0)
);

create or replace function outbox_take_positions(p_limit int) returns table (id bigint, "position" bigint, topic text, payload jsonb, created_at timestamptz)
language sql as $$
  with batch as (
    select o.id, row_number() over (order by o.id) as n
    from (select id from outbox where position is null order by id limit p_limit) as o
  ),
  base as (
    select last_position as last from outbox_relay where id = 1
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
    where id = 1 and exists (select 1 from positioned)
  )
  select * from positioned
$$;
commit;
