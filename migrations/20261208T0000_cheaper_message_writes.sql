-- A message's trigger inserts the notifications of the other members, found by
-- conversation_members() (for order conversations; see below for direct ones).
-- Its last branch, the admins taking part in an order's conversation, had no
-- index to start from but the whole users table: the trigger's cached plan
-- scanned every user for every message, whatever the conversation's kind (1,100
-- users: about a seventh of PostgreSQL's CPU per message, perf on the backend;
-- it grows with the users). Admins are few; this index holds only them.
create index users_admins on users (id) where role = 'ADMIN';

-- The content check only has something to check for a message without text: the
-- others no longer queue a deferred trigger event each until the commit.
drop trigger messages_check_content on messages;
create constraint trigger messages_check_content after insert on messages
  deferrable initially deferred
  for each row when (new.body = '') execute function messages_check_content();

-- messages_after_insert as in 20261204T0100_chat_extras.sql, but a direct
-- conversation's members are read off its row: the pair, which is what
-- conversation_members() answers for it. The union of that function (four
-- branches, nine scans) was planned into the notification insert, and starting
-- its plan for every message cost about 40 us of the backend's 480 per message
-- (one connection, the access check and the insert). Order conversations still
-- ask conversation_members().
create or replace function messages_after_insert() returns trigger language plpgsql as $$
declare
  sender_name text;
  conversation record;
  members text[];
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

  select kind, direct_user_low, direct_user_high into conversation from conversations where id = new.conversation_id;
  if conversation.kind = 'DIRECT' then
    members := array[conversation.direct_user_low, conversation.direct_user_high];
  else
    members := array(select conversation_members(new.conversation_id));
  end if;

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
    select member.user_id,
           case when member.user_id = any (new.mention_user_ids) then 'MENTION' else 'MESSAGE' end as kind,
           case when member.user_id = any (new.mention_user_ids) then 'HIGH' else 'NORMAL' end as priority
    from unnest(members) as member (user_id)
    where member.user_id <> new.sender_id
  ) as m
  where notification_wanted(m.user_id, m.kind, m.priority)
  order by notification_lock_bucket(m.user_id), m.user_id;
  return null;
end
$$;
