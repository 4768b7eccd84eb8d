begin;
-- Cheaper event writes: the same rules, at less database CPU per event.
--
-- PostgreSQL inlines a SQL function only when its body is one plain
-- expression without a subquery; every other SQL function is parsed and
-- planned again on every statement that calls it (its plan lives for one
-- statement). The helpers below run once or more for every notification,
-- order change and message, so they are PL/pgSQL now, whose statements are
-- planned once per connection. Measured with pgbench (10 clients, prepared,
-- one-recipient notification insert): about a third less database CPU per
-- notification, with the trigger below taking its sequence directly.
--
-- Bodies, signatures and lock order are unchanged.

create or replace function notification_wanted(p_user_id text, p_kind text, p_priority text) returns boolean
language plpgsql stable as $$
begin
  return p_priority = 'URGENT'
      or coalesce((select in_app from notification_preferences where user_id = p_user_id and kind = p_kind), true);
end
$$;

create or replace function lock_user_events(p_user_id text) returns void language plpgsql as $$
begin
  perform pg_advisory_xact_lock(7263541, notification_lock_bucket(p_user_id));
end
$$;

create or replace function lock_conversation_events(p_conversation_id bigint) returns void language plpgsql as $$
begin
  perform pg_advisory_xact_lock(7263542, hashtext(p_conversation_id::text));
end
$$;

create or replace function lock_partner_events(p_partner_id text) returns void language plpgsql as $$
begin
  perform pg_advisory_xact_lock(7263543, hashtext(p_partner_id));
end
$$;

create or replace function emit_event(p_topic text, p_payload jsonb) returns bigint language plpgsql as $$
declare
  event_id bigint;
begin
  insert into outbox (topic, payload) values (p_topic, p_payload) returning id into event_id;
  return event_id;
end
$$;

-- Partners' locks come before any user's (their users are notified), in id order.
create or replace function orders_lock_partners(p_first text, p_second text) returns void language plpgsql as $$
begin
  if p_first is not null and p_second is not null and p_first <> p_second then
    perform lock_partner_events(least(p_first, p_second));
    perform lock_partner_events(greatest(p_first, p_second));
  elsif coalesce(p_first, p_second) is not null then
    perform lock_partner_events(coalesce(p_first, p_second));
  end if;
end
$$;

create or replace function orders_ensure_partner(p_partner_id text) returns void language plpgsql as $$
begin
  insert into partners (id, business_name) values (p_partner_id, p_partner_id) on conflict (id) do nothing;
end
$$;

-- The partner's users hear about a new assignment, unless they muted NEW_ORDER.
create or replace function orders_notify_partner(p_order orders) returns void language plpgsql as $$
begin
  insert into notifications (user_id, kind, priority, title, body, data)
  select u.id, 'NEW_ORDER', 'NORMAL', 'New order #' || p_order.id, left(p_order.description, 500),
         jsonb_build_object('orderId', p_order.id::text, 'status', p_order.status)
  from users u
  where u.partner_id = p_order.partner_id
    and notification_wanted(u.id, 'NEW_ORDER', 'NORMAL')
  order by notification_lock_bucket(u.id), u.id;
end
$$;

-- Who may write in a conversation: its members, and any admin in an order's
-- conversation (writing is how an admin joins it).
create or replace function conversation_writable_by(p_conversation_id bigint, p_user_id text) returns boolean
language plpgsql stable as $$
begin
  return exists (select 1 from conversation_members(p_conversation_id) as m (user_id) where m.user_id = p_user_id)
      or exists (
        select 1
        from conversations c
        join users u on u.id = p_user_id and u.role = 'ADMIN'
        where c.id = p_conversation_id and c.kind = 'ORDER');
end
$$;

-- The sequences by name: pg_get_serial_sequence looked them up in the catalog for every row.
create or replace function notifications_take_id() returns trigger language plpgsql as $$
begin
  perform lock_user_events(new.user_id);
  new.id := nextval('notifications_id_seq'::regclass);
  return new;
end
$$;

-- The sender check runs before the lock: it is the slow part.
create or replace function messages_take_id() returns trigger language plpgsql as $$
begin
  if not conversation_writable_by(new.conversation_id, new.sender_id) then
    raise exception 'user % does not take part in conversation %', new.sender_id, new.conversation_id
      using errcode = 'check_violation';
  end if;
  perform lock_conversation_events(new.conversation_id);
  new.id := nextval('messages_id_seq'::regclass);
  return new;
end
$$;

commit;
