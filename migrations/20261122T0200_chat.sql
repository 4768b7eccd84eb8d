-- Chat: order and direct conversations, their messages and each participant's read state.
--
-- Who takes part is decided here, in one function (conversation_members), so
-- the API, the triggers and any outside writer agree:
--   DIRECT: the pair stored on the conversation.
--   ORDER:  the order's customer and the users of its *currently* assigned
--           partner (a partner assigned later joins, one unassigned leaves),
--           plus admins who joined by writing or reading there.
-- conversation_participants is read state, not membership: a row outlives an
-- unassigned partner's access and grants nothing by itself (except an admin's
-- in an order conversation, which is how an admin joins).

create table conversations (
  id bigserial primary key,
  kind text not null check (kind in ('ORDER', 'DIRECT')),
  order_id bigint unique references orders (id) on delete cascade,
  -- The pair of a DIRECT conversation, in a fixed order, so the same two users
  -- always meet in the same conversation whoever opens it.
  direct_user_low text,
  direct_user_high text,
  created_at timestamptz not null default now(),
  check ((kind = 'ORDER') = (order_id is not null)),
  check ((kind = 'DIRECT') = (direct_user_low is not null and direct_user_high is not null)),
  check (kind = 'DIRECT' or (direct_user_low is null and direct_user_high is null)),
  check (direct_user_low < direct_user_high),
  unique (direct_user_low, direct_user_high)
);
create index conversations_by_direct_user_high on conversations (direct_user_high) where direct_user_high is not null;

create table conversation_participants (
  conversation_id bigint not null references conversations (id) on delete cascade,
  user_id text not null,
  -- Everything up to and including this message counts as read; null: nothing yet.
  last_read_message_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (conversation_id, user_id)
);
create index conversation_participants_by_user on conversation_participants (user_id);

-- The sender is a user (Message.sender is never null), unlike notification
-- recipients, who may not have signed in yet.
create table messages (
  id bigserial primary key,
  conversation_id bigint not null references conversations (id) on delete cascade,
  sender_id text not null references users (id),
  body text not null check (char_length(body) > 0),
  reply_to_id bigint,
  client_message_id text check (char_length(client_message_id) > 0),
  created_at timestamptz not null default now(),
  -- Target of the reply key below; also the index for paging a conversation.
  unique (conversation_id, id),
  -- A reply points into its own conversation: the pair must exist as a message.
  foreign key (conversation_id, reply_to_id) references messages (conversation_id, id),
  -- The sender's idempotency key: a retry cannot create a second message.
  unique (sender_id, client_message_id)
);

create function conversation_members(p_conversation_id bigint) returns setof text
language sql stable as $$
  select pair.user_id
  from conversations c
  cross join lateral (values (c.direct_user_low), (c.direct_user_high)) as pair (user_id)
  where c.id = p_conversation_id and c.kind = 'DIRECT'
  union
  select o.customer_id
  from conversations c
  join orders o on o.id = c.order_id
  where c.id = p_conversation_id
  union
  select u.id
  from conversations c
  join orders o on o.id = c.order_id
  join users u on u.partner_id = o.partner_id
  where c.id = p_conversation_id
  union
  select p.user_id
  from conversation_participants p
  join conversations c on c.id = p.conversation_id and c.kind = 'ORDER'
  join users u on u.id = p.user_id and u.role = 'ADMIN'
  where p.conversation_id = p_conversation_id
$$;

-- Who may write in a conversation: its members, and any admin in an order's
-- conversation (writing is how an admin joins it).
create function conversation_writable_by(p_conversation_id bigint, p_user_id text) returns boolean
language sql stable as $$
  select exists (select 1 from conversation_members(p_conversation_id) as m (user_id) where m.user_id = p_user_id)
      or exists (
        select 1
        from conversations c
        join users u on u.id = p_user_id and u.role = 'ADMIN'
        where c.id = p_conversation_id and c.kind = 'ORDER')
$$;

-- Message ids are handed out in commit order, like notification ids, so a
-- subscriber resuming "since id N" can never skip a later-committing lower id.
-- The sender check runs before the lock: it is the slow part.
create function messages_take_id() returns trigger language plpgsql as $$
begin
  if not conversation_writable_by(new.conversation_id, new.sender_id) then
    raise exception 'user % does not take part in conversation %', new.sender_id, new.conversation_id
      using errcode = 'check_violation';
  end if;
  perform event_order_lock();
  new.id := nextval(pg_get_serial_sequence('messages', 'id'));
  return new;
end
$$;

create trigger messages_take_id before insert on messages
  for each row execute function messages_take_id();

-- A new message: the event, the sender's read state (sending counts as
-- reading, also for outside writers), and MESSAGE notifications.
--
-- Notification policy: every other member gets one (unless they muted MESSAGE
-- notifications), whether or not they watch the conversation right now.
-- Whether someone is subscribed is process memory on some server of the
-- cluster, not something this transaction can see or lock: a check would race
-- with connects and disconnects and lose notifications for users who just
-- left. A notification for a message already seen live costs little:
-- markConversationRead (and sending) marks the conversation's MESSAGE
-- notifications read, so the two unread counts agree.
create function messages_after_insert() returns trigger language plpgsql as $$
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
  order by m.user_id;
  return null;
end
$$;

create trigger messages_after_insert after insert on messages
  for each row execute function messages_after_insert();
