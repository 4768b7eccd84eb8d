-- Per-user, per-kind notification preferences. A missing row means the
-- defaults (in_app true, offline true).
create table notification_preferences (
  user_id text not null,
  kind text not null
    check (kind in ('ORDER_UPDATE', 'NEW_ORDER', 'MESSAGE', 'PAYMENT', 'SYSTEM', 'GENERAL')),
  in_app boolean not null default true,
  offline boolean not null default true,
  updated_at timestamptz not null default now(),
  primary key (user_id, kind)
);

-- Whether the system should create a notification of this kind for this user.
-- Called by sendNotification and by the triggers that create notifications
-- (orders, chat); plain SQL inserts into notifications do not consult it.
create function notification_wanted(p_user_id text, p_kind text, p_priority text) returns boolean
language sql stable as $$
  select p_priority = 'URGENT'
      or coalesce((select in_app from notification_preferences where user_id = p_user_id and kind = p_kind), true)
$$;
