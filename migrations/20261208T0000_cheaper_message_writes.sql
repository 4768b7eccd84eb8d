-- Every message's trigger inserts the notifications of the other members, found
-- by conversation_members(). Its last branch, the admins taking part in an order's
-- conversation, had no index to start from but the whole users table: its cached
-- plan scanned every user for every message, whatever the conversation's kind
-- (1,100 users: about a seventh of PostgreSQL's CPU per message, measured with
-- perf on the backend; it grows with the users). Admins are few; this index
-- holds only them.
create index users_admins on users (id) where role = 'ADMIN';

-- The content check only has something to check for a message without text: the
-- others no longer queue a deferred trigger event each until the commit.
drop trigger messages_check_content on messages;
create constraint trigger messages_check_content after insert on messages
  deferrable initially deferred
  for each row when (new.body = '') execute function messages_check_content();
