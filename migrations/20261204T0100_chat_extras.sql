-- Chat as the platforms we replace have it: SYSTEM messages posted by the
-- database when an order changes, mentions, attachments and read receipts
-- (contract part "chat").

-- The author of SYSTEM messages. An ADMIN, so conversation_writable_by() lets
-- it write into any order's conversation; a token naming it is refused
-- (auth/verify.ts), so nobody can sign in as it.
insert into users (id, role, display_name) values ('system', 'ADMIN', 'System')
on conflict (id) do update set role = 'ADMIN', display_name = 'System';

alter table messages add column kind text not null default 'TEXT' check (kind in ('TEXT', 'SYSTEM'));
-- Participants the sender mentioned, in the order given; each gets a MENTION
-- notification instead of the MESSAGE one (messages_after_insert below).
alter table messages add column mention_user_ids text[] not null default '{}';
-- A message with attachments may have an empty body; the API refuses an
-- empty body without attachments.
alter table messages drop constraint messages_body_check;

alter table notifications drop constraint notifications_kind_check;
alter table notifications add constraint notifications_kind_check
  check (kind in ('ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'MENTION', 'PAYMENT', 'SYSTEM', 'GENERAL'));
alter table notification_preferences drop constraint notification_preferences_kind_check;
alter table notification_preferences add constraint notification_preferences_kind_check
  check (kind in ('ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'MENTION', 'PAYMENT', 'SYSTEM', 'GENERAL'));

-- The bytes live beside the message, written in its transaction: a message
-- never points at a missing file, and a failed send stores none.
create table message_attachments (
  id bigserial primary key,
  message_id bigint not null references messages (id) on delete cascade,
  -- The order the sender gave them in.
  position int not null,
  file_name text not null check (char_length(file_name) between 1 and 255),
  content_type text not null,
  size_bytes int not null check (size_bytes >= 0),
  bytes bytea not null,
  created_at timestamptz not null default now(),
  unique (message_id, position)
);

-- A new message. TEXT: the event, the sender's read state (sending counts as
-- reading, also for outside writers), MESSAGE or MENTION notifications.
-- SYSTEM: the event only. Its author is no participant (no read state, so it
-- never becomes a member) and nobody is notified: the order's own
-- ORDER_UPDATE and NEW_ORDER notifications already tell them.
create or replace function messages_after_insert() returns trigger language plpgsql as $$
declare
  sender_name text;
begin
  perform emit_event('message.created', jsonb_build_object(
    'messageId', new.id::text,
    'conversationId', new.conversation_id::text,
    'senderId', new.sender_id,
    'replyToId', new.reply_to_id::text));
  if new.kind = 'SYSTEM' then
    return null;
  end if;

  insert into conversation_participants (conversation_id, user_id, last_read_message_id)
  values (new.conversation_id, new.sender_id, new.id)
  on conflict (conversation_id, user_id) do update
    set last_read_message_id = greatest(conversation_participants.last_read_message_id, excluded.last_read_message_id),
        updated_at = now();

  update notifications
  set read_at = now()
  where user_id = new.sender_id
    and kind in ('MESSAGE', 'MENTION')
    and read_at is null
    and data ->> 'conversationId' = new.conversation_id::text;

  select display_name into sender_name from users where id = new.sender_id;
  insert into notifications (user_id, kind, priority, title, body, data)
  select m.user_id,
         m.kind,
         m.priority,
         case when m.kind = 'MENTION' then left(sender_name, 150) || ' mentioned you'
              else 'New message from ' || left(sender_name, 150) end,
         left(new.body, 4000),
         jsonb_build_object('conversationId', new.conversation_id::text, 'messageId', new.id::text, 'senderId', new.sender_id)
  from (
    select members.user_id,
           case when members.user_id = any (new.mention_user_ids) then 'MENTION' else 'MESSAGE' end as kind,
           case when members.user_id = any (new.mention_user_ids) then 'HIGH' else 'NORMAL' end as priority
    from conversation_members(new.conversation_id) as members (user_id)
    where members.user_id <> new.sender_id
  ) as m
  where notification_wanted(m.user_id, m.kind, m.priority)
  order by notification_lock_bucket(m.user_id), m.user_id;
  return null;
end
$$;

-- The SYSTEM lines of an order's conversation, if it has one. Called by
-- orders_after_update after the partners' locks and before any user's
-- (the conversation's lock comes between them, as in sendMessage: the
-- conversation first, then the users it notifies).
create function orders_post_system_messages(p_new orders, p_old orders) returns void language plpgsql as $$
declare
  conversation bigint;
begin
  select id into conversation from conversations where order_id = p_new.id;
  if conversation is null then
    return;
  end if;
  if p_new.partner_id is distinct from p_old.partner_id and p_old.partner_id is not null then
    insert into messages (conversation_id, sender_id, kind, body)
    select conversation, 'system', 'SYSTEM', coalesce(p.business_name, p_old.partner_id) || ' is no longer assigned'
    from (values (p_old.partner_id)) as v (partner_id)
    left join partners p on p.id = v.partner_id;
  end if;
  if p_new.partner_id is distinct from p_old.partner_id and p_new.partner_id is not null then
    insert into messages (conversation_id, sender_id, kind, body)
    select conversation, 'system', 'SYSTEM', 'Assigned to ' || coalesce(p.business_name, p_new.partner_id)
    from (values (p_new.partner_id)) as v (partner_id)
    left join partners p on p.id = v.partner_id;
  end if;
  if p_new.status <> p_old.status then
    insert into messages (conversation_id, sender_id, kind, body)
    values (conversation, 'system', 'SYSTEM', 'Order is now ' || p_new.status);
  end if;
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
  if status_changed or partner_changed then
    perform orders_post_system_messages(new, old);
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

-- A read position that moved is an event (read receipts), in the
-- conversation's order: its lock, then the outbox id. markConversationRead
-- takes the lock before it touches the row, as sendMessage does, so the
-- two never wait for each other the other way round.
create function conversation_participants_emit_read() returns trigger language plpgsql as $$
begin
  if new.last_read_message_id is null
     or (tg_op = 'UPDATE' and new.last_read_message_id is not distinct from old.last_read_message_id) then
    return null;
  end if;
  perform lock_conversation_events(new.conversation_id);
  perform emit_event('conversation.read', jsonb_build_object(
    'conversationId', new.conversation_id::text,
    'userId', new.user_id,
    'lastReadMessageId', new.last_read_message_id::text,
    'readAt', new.updated_at));
  return null;
end
$$;

create trigger conversation_participants_emit_read after insert or update on conversation_participants
  for each row execute function conversation_participants_emit_read();

-- A message says something: a body, or files. The files are inserted after
-- their message in the same transaction, so the check waits for the commit.
create function messages_check_content() returns trigger language plpgsql as $$
begin
  if new.body = '' and not exists (select 1 from message_attachments where message_id = new.id) then
    raise exception 'message % has neither a body nor attachments', new.id using errcode = 'check_violation';
  end if;
  return null;
end
$$;

create constraint trigger messages_check_content after insert on messages
  deferrable initially deferred
  for each row execute function messages_check_content();
