begin;
-- lock_user_events() without waiting: false when another transaction holds the
-- user's lock. A group of one-recipient notifications (src/db/write-groups.ts)
-- takes every lock of the group this way first and, if one is taken, writes
-- nothing and leaves each notification to its own statement: a busy user must
-- hold back only their own writers, not everyone whose notification happened
-- to be grouped with theirs.
create or replace function try_lock_user_events(p_user_id text) returns boolean language plpgsql as $$
begin
  return pg_try_advisory_xact_lock(7263541, notification_lock_bucket(p_user_id));
end
$$;
commit;
