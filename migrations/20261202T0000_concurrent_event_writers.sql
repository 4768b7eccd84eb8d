-- Event writers commit concurrently.
--
-- Until now every event-producing transaction took one cluster-wide lock
-- before it took an id, and every one called pg_notify (which PostgreSQL also
-- serialises at commit), so ids were handed out in commit order and the relay
-- could read "after id N". Commits waited for each other's WAL flush.
--
-- Now only writers of the same key take turns: a transaction takes the lock of
-- each key it writes an event or a resume id for (a user's notifications, a
-- conversation's messages, a partner's events; an order's row lock already
-- orders an order's writers) and holds it until it ends. Under that lock:
--   * notification ids per user and message ids per conversation are handed
--     out in commit order (the resume points of since:);
--   * for any two events of one key, the one that committed first has the
--     lower outbox id, and a row that becomes visible later has a higher id
--     than every row of its key visible now.
-- So the relay no longer reads "after id N" (a late-committing lower id of
-- another key would be skipped). It takes every committed row that has no
-- position yet, in id order, and gives them the next positions in one
-- statement: positions are the delivery order, per key they follow commit
-- order, and a row committed late simply gets a later position. Readers that
-- resume (catch-up after a PubSub outage, the webhook's cursor, a new relay
-- leader) go by position.
--
-- The wake-up NOTIFY is gone from the commit path: the relay polls the
-- partial index of unpositioned rows (RELAY_POLL_MS) and a process wakes its
-- own relay after its mutations.

alter table outbox add column position bigint;
-- Rows written before this migration were handed out in commit order: their ids are their positions.
update outbox set position = id;
create unique index outbox_by_position on outbox (position) where position is not null;
-- What the relay has yet to position: a small index, emptied as fast as writers fill it.
create index outbox_unpositioned on outbox (id) where position is null;

alter table outbox_relay rename column last_published_id to last_published_position;

-- The webhook sender now follows the outbox's notification.created events by position.
alter table webhook_cursor add column last_outbox_position bigint not null default 0;
update webhook_cursor
set last_outbox_position = coalesce(
  (select max(o.position) from outbox o
   where o.topic = 'notification.created' and (o.payload ->> 'notificationId')::bigint <= webhook_cursor.last_notification_id),
  0);
alter table webhook_cursor drop column last_notification_id;

-- The lock spaces (first argument of the two-key advisory lock) of the keys.
-- Users go into 1024 buckets: a broadcast to every user holds at most 1024
-- locks (PostgreSQL's lock table is shared and small), at the price of two
-- users of one bucket taking turns.
create function notification_lock_bucket(p_user_id text) returns int language sql immutable as $$
  select hashtext(p_user_id) & 1023
$$;

create function lock_user_events(p_user_id text) returns void language sql as $$
  select pg_advisory_xact_lock(7263541, notification_lock_bucket(p_user_id))
$$;

create function lock_conversation_events(p_conversation_id bigint) returns void language sql as $$
  select pg_advisory_xact_lock(7263542, hashtext(p_conversation_id::text))
$$;

create function lock_partner_events(p_partner_id text) returns void language sql as $$
  select pg_advisory_xact_lock(7263543, hashtext(p_partner_id))
$$;

create or replace function emit_event(p_topic text, p_payload jsonb) returns bigint language sql as $$
  insert into outbox (topic, payload) values (p_topic, p_payload) returning id
$$;

-- A multi-row insert takes its users' locks row by row; inserting in bucket
-- order (as every insert of ours does) keeps two broadcasts from deadlocking.
create or replace function notifications_take_id() returns trigger language plpgsql as $$
begin
  perform lock_user_events(new.user_id);
  new.id := nextval(pg_get_serial_sequence('notifications', 'id'));
  return new;
end
$$;

-- The users' locks are held since their rows took ids.
create or replace function notifications_emit_created() returns trigger language plpgsql as $$
begin
  insert into outbox (topic, payload)
  select 'notification.created', jsonb_build_object(
    'notificationId', n.id::text,
    'userId', n.user_id,
    'kind', n.kind,
    'priority', n.priority)
  from new_rows n
  order by n.id;
  return null;
end
$$;

-- notification.read takes no lock: its only reader recounts the unread
-- notifications when it arrives, so the order of two of them does not matter,
-- and a lock here (taken after the rows' own locks) would deadlock with a
-- message sent by the same user (user lock first, then the rows).

drop trigger orders_take_event_lock on orders;
drop function orders_take_event_lock();

-- The partner's users hear about a new assignment, unless they muted NEW_ORDER.
create or replace function orders_notify_partner(p_order orders) returns void language sql as $$
  insert into notifications (user_id, kind, priority, title, body, data)
  select u.id, 'NEW_ORDER', 'NORMAL', 'New order #' || p_order.id, left(p_order.description, 500),
         jsonb_build_object('orderId', p_order.id::text, 'status', p_order.status)
  from users u
  where u.partner_id = p_order.partner_id
    and notification_wanted(u.id, 'NEW_ORDER', 'NORMAL')
  order by notification_lock_bucket(u.id), u.id
$$;

-- Partners' locks come before any user's (their users are notified below), in id order.
create function orders_lock_partners(p_first text, p_second text) returns void language sql as $$
  select lock_partner_events(partner_id)
  from (select distinct partner_id from (values (p_first), (p_second)) as p (partner_id) where partner_id is not null) as p
  order by partner_id
$$;

create or replace function orders_after_insert() returns trigger language plpgsql as $$
begin
  insert into order_status_history (order_id, status, order_version, changed_at) values (new.id, new.status, new.version, new.created_at);
  perform emit_event('order.created', order_event_payload(new));
  if new.partner_id is not null then
    perform orders_lock_partners(new.partner_id, null);
    perform orders_emit_assignment(new, null);
  end if;
  return null;
end
$$;

create or replace function orders_after_update() returns trigger language plpgsql as $$
declare
  status_changed boolean := new.status <> old.status;
  partner_changed boolean := new.partner_id is distinct from old.partner_id;
  status_note text := nullif(current_setting('orders.status_note', true), '');
begin
  if partner_changed then
    perform orders_lock_partners(old.partner_id, new.partner_id);
  elsif status_changed and new.status = 'DELIVERED' then
    perform orders_lock_partners(new.partner_id, null);
  end if;
  if status_changed then
    insert into order_status_history (order_id, status, note, order_version) values (new.id, new.status, status_note, new.version);
  end if;
  perform emit_event('order.updated',
    order_event_payload(new)
    || case when status_changed then jsonb_build_object('previousStatus', old.status) else '{}' end
    || case when partner_changed then jsonb_build_object('previousPartnerId', old.partner_id) else '{}' end);
  if partner_changed then
    perform orders_emit_assignment(new, old.partner_id);
  end if;
  if status_changed and notification_wanted(new.customer_id, 'ORDER_UPDATE', 'NORMAL') then
    insert into notifications (user_id, kind, priority, title, body, data)
    values (
      new.customer_id, 'ORDER_UPDATE', 'NORMAL',
      'Order #' || new.id || ': ' || replace(lower(new.status), '_', ' '),
      coalesce(status_note, ''),
      jsonb_build_object('orderId', new.id::text, 'status', new.status, 'previousStatus', old.status));
  end if;
  if status_changed and new.status = 'DELIVERED' and new.partner_id is not null then
    insert into earnings (partner_id, order_id, amount_cents) values (new.partner_id, new.id, new.payout_cents)
    on conflict (order_id) do nothing;
  end if;
  return null;
end
$$;

-- totalCents is the partner's total after this entry: the partner's lock makes
-- the partner's entries take turns, so the sum sees every earlier one.
create or replace function earnings_emit_created() returns trigger language plpgsql as $$
declare
  total bigint;
begin
  perform lock_partner_events(new.partner_id);
  select coalesce(sum(amount_cents), 0) into total from earnings where partner_id = new.partner_id;
  perform emit_event('earnings.created', jsonb_build_object(
    'earningsId', new.id::text,
    'orderId', new.order_id::text,
    'partnerId', new.partner_id,
    'amountCents', new.amount_cents,
    'totalCents', total));
  return null;
end
$$;

-- Message ids per conversation are handed out in commit order. The sender
-- check runs before the lock: it is the slow part.
create or replace function messages_take_id() returns trigger language plpgsql as $$
begin
  if not conversation_writable_by(new.conversation_id, new.sender_id) then
    raise exception 'user % does not take part in conversation %', new.sender_id, new.conversation_id
      using errcode = 'check_violation';
  end if;
  perform lock_conversation_events(new.conversation_id);
  new.id := nextval(pg_get_serial_sequence('messages', 'id'));
  return new;
end
$$;

-- As before (see the chat migration), with the members' notifications in bucket order.
create or replace function messages_after_insert() returns trigger language plpgsql as $$
declare
  sender_name text;
begin
  perform emit_event('message.created', jsonb_build_object(
    'messageId', new.id::text,
    'conversationId', new.conversation_id::text,
    'senderId', new.sender_id,
    'replyToId', new.reply_to_id::text));

  insert into conversation_participants (conversation_id, user_id, last_read_message_id)
  values (new.conversation_id, new.sender_id, new.id)
  on conflict (conversation_id, user_id) do update
    set last_read_message_id = greatest(conversation_participants.last_read_message_id, excluded.last_read_message_id),
        updated_at = now();

  update notifications
  set read_at = now()
  where user_id = new.sender_id
    and kind = 'MESSAGE'
    and read_at is null
    and data ->> 'conversationId' = new.conversation_id::text;

  select display_name into sender_name from users where id = new.sender_id;
  insert into notifications (user_id, kind, priority, title, body, data)
  select m.user_id,
         'MESSAGE',
         'NORMAL',
         'New message from ' || left(sender_name, 150),
         left(new.body, 4000),
         jsonb_build_object('conversationId', new.conversation_id::text, 'messageId', new.id::text, 'senderId', new.sender_id)
  from conversation_members(new.conversation_id) as m (user_id)
  where m.user_id <> new.sender_id
    and notification_wanted(m.user_id, 'MESSAGE', 'NORMAL')
  order by notification_lock_bucket(m.user_id), m.user_id;
  return null;
end
$$;

-- Gives the committed rows that have none the next positions, in id order, and
-- returns them. Only the relay leader calls it, on the session that holds its
-- leadership, so two callers never run at once.
create function outbox_take_positions(p_limit int) returns table (id bigint, "position" bigint, topic text, payload jsonb, created_at timestamptz)
language sql as $$
  with batch as (
    select o.id, row_number() over (order by o.id) as n
    from (select id from outbox where position is null order by id limit p_limit) as o
  ),
  base as (
    select coalesce(max(position), 0) as last from outbox where position is not null
  )
  update outbox
  set position = base.last + batch.n
  from batch, base
  where outbox.id = batch.id
  returning outbox.id, outbox.position, outbox.topic, outbox.payload, outbox.created_at
$$;

drop function event_order_lock();
