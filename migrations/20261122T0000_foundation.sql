-- Users, partners, notifications and the event outbox.
-- Every durable change that clients hear about is written to the outbox by a
-- trigger, in the same transaction, so plain SQL writers produce events too.

create table partners (
  id text primary key,
  business_name text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table users (
  id text primary key,
  role text not null check (role in ('CUSTOMER', 'PARTNER', 'ADMIN')),
  display_name text not null,
  partner_id text references partners (id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((role = 'PARTNER') = (partner_id is not null))
);
create index users_partner_id on users (partner_id) where partner_id is not null;

-- user_id is not a foreign key: the identity provider owns users, and an
-- outside writer may notify a user before their first sign-in.
create table notifications (
  id bigserial primary key,
  user_id text not null,
  kind text not null default 'GENERAL'
    check (kind in ('ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'PAYMENT', 'SYSTEM', 'GENERAL')),
  priority text not null default 'NORMAL' check (priority in ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
  title text not null,
  body text not null default '',
  data jsonb,
  read_at timestamptz,
  created_at timestamptz not null default now()
);
create index notifications_by_user on notifications (user_id, id desc);
create index notifications_unread_by_user on notifications (user_id, id) where read_at is null;

create table outbox (
  id bigserial primary key,
  topic text not null,
  payload jsonb not null,
  created_at timestamptz not null default now()
);

-- How far the relay has published; one row, moved by the relay leader only.
create table outbox_relay (
  id int primary key default 1 check (id = 1),
  last_published_id bigint not null default 0,
  updated_at timestamptz not null default now()
);
insert into outbox_relay default values;

-- Writers that produce events take this transaction lock before they take an
-- id, so ids (outbox, notifications) are handed out in commit order and a
-- reader that resumes "after id N" can never skip a later-committing lower id.
create function event_order_lock() returns void language sql as $$
  select pg_advisory_xact_lock(7263540001)
$$;

create function emit_event(p_topic text, p_payload jsonb) returns bigint language plpgsql as $$
declare
  event_id bigint;
begin
  perform event_order_lock();
  insert into outbox (topic, payload) values (p_topic, p_payload) returning id into event_id;
  -- An empty payload: PostgreSQL folds identical notifications of one
  -- transaction into one, so a 10,000-row insert wakes the relay once.
  perform pg_notify('outbox_wakeup', '');
  return event_id;
end
$$;

create function notifications_take_id() returns trigger language plpgsql as $$
begin
  perform event_order_lock();
  new.id := nextval(pg_get_serial_sequence('notifications', 'id'));
  return new;
end
$$;

create trigger notifications_take_id before insert on notifications
  for each row execute function notifications_take_id();

-- One set-based insert per statement: a broadcast to 10,000 users writes its
-- 10,000 events in one go instead of 10,000 function calls.
create function notifications_emit_created() returns trigger language plpgsql as $$
begin
  perform event_order_lock();
  insert into outbox (topic, payload)
  select 'notification.created', jsonb_build_object(
    'notificationId', n.id::text,
    'userId', n.user_id,
    'kind', n.kind,
    'priority', n.priority)
  from new_rows n
  order by n.id;
  perform pg_notify('outbox_wakeup', '');
  return null;
end
$$;

create trigger notifications_emit_created after insert on notifications
  referencing new table as new_rows
  for each statement execute function notifications_emit_created();

-- One event per user and statement: marking 500 notifications read is one
-- unread-count change, not 500.
create function notifications_emit_read() returns trigger language plpgsql as $$
declare
  changed record;
begin
  for changed in
    select n.user_id, jsonb_agg(n.id::text order by n.id) as ids
    from new_rows n
    join old_rows o on o.id = n.id
    where (o.read_at is null) <> (n.read_at is null) or o.user_id <> n.user_id
    group by n.user_id
  loop
    perform emit_event('notification.read', jsonb_build_object('userId', changed.user_id, 'notificationIds', changed.ids));
  end loop;
  return null;
end
$$;

create trigger notifications_emit_read after update on notifications
  referencing old table as old_rows new table as new_rows
  for each statement execute function notifications_emit_read();
