-- Presence (who may see whom, when someone was last seen) and the offline
-- delivery queue of the webhook sender.

-- When each user's last connection closed. Who is online right now lives in
-- process memory or Redis (it dies with the connections); this is the part
-- that must outlive a restart of either.
create table user_presence (
  user_id text primary key,
  last_seen_at timestamptz not null
);

-- Whether p_viewer may see p_target's presence: themselves, the two sides of
-- an order (its customer and the users of its assigned partner), or members
-- of one conversation. Conversation membership follows conversation_members()
-- (chat migration), written out per case so that every branch is an index
-- lookup instead of a scan of all of a partner's conversations. ADMIN sees
-- everyone; the caller decides that from the token.
create function presence_visible(p_viewer text, p_target text) returns boolean
language sql stable as $$
  select p_viewer = p_target
    -- an order of the viewer (customer) assigned to the target's partner
    or exists (
      select 1
      from users t
      join orders o on o.customer_id = p_viewer and o.partner_id = t.partner_id
      where t.id = p_target)
    -- an order of the target (customer) assigned to the viewer's partner
    or exists (
      select 1
      from users v
      join orders o on o.customer_id = p_target and o.partner_id = v.partner_id
      where v.id = p_viewer)
    -- a DIRECT conversation between the two
    or exists (
      select 1
      from conversations c
      where c.kind = 'DIRECT'
        and c.direct_user_low = least(p_viewer, p_target)
        and c.direct_user_high = greatest(p_viewer, p_target))
    -- users of one partner, who meet in the conversation of an order assigned to it
    or exists (
      select 1
      from users v
      join users t on t.partner_id = v.partner_id
      join orders o on o.partner_id = v.partner_id
      join conversations c on c.order_id = o.id
      where v.id = p_viewer and t.id = p_target)
    -- an admin who joined an order conversation, and that order's customer or partner users (both ways)
    or exists (
      select 1
      from conversation_participants p
      join users a on a.id = p.user_id and a.role = 'ADMIN'
      join conversations c on c.id = p.conversation_id and c.kind = 'ORDER'
      join orders o on o.id = c.order_id
      join users m on m.id in (p_viewer, p_target) and m.id <> a.id
      where p.user_id in (p_viewer, p_target)
        and (o.customer_id = m.id or o.partner_id = m.partner_id))
$$;

-- One row per notification the webhook sender has taken on. Rows are added by
-- the sender itself (see webhook_cursor), only while a webhook is configured,
-- so a deployment without one pays nothing per notification.
--   pending: due at next_attempt_at (the first time: created_at + OFFLINE_DELAY_S;
--            while a process sends it: a lease that lapses if that process dies)
--   sent / skipped (read, user online, kind muted) / failed (gave up): final.
create table webhook_deliveries (
  notification_id bigint primary key references notifications (id) on delete cascade,
  state text not null default 'pending' check (state in ('pending', 'sent', 'skipped', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where state = 'pending';
create index webhook_deliveries_finished on webhook_deliveries (updated_at) where state <> 'pending';

-- How far the sender has looked at notifications. Notification ids are handed
-- out in commit order (event_order_lock), so "every id after the cursor" never
-- skips one that commits late.
create table webhook_cursor (
  id int primary key default 1 check (id = 1),
  last_notification_id bigint not null default 0
);
insert into webhook_cursor default values;
