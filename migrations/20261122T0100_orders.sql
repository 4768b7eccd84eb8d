-- Orders, their status history and the partners' earnings ledger.
--
-- Everything an order does happens in triggers, so a plain SQL writer
-- (`insert into orders (customer_id, description, total_cents)`,
-- `update orders set status = ...`) gets exactly what the mutations get:
-- the status machine, the payout, history rows, outbox events, earnings and
-- notifications.

-- The platform's settings that triggers need. One row; every server process
-- writes its PLATFORM_FEE_PERCENT here at start (src/db/orders.ts), so outside
-- writers compute the same payout as the API does.
create table platform_settings (
  id int primary key default 1 check (id = 1),
  fee_percent int not null default 20 check (fee_percent between 0 and 100),
  updated_at timestamptz not null default now()
);
insert into platform_settings default values;

create table orders (
  id bigserial primary key,
  customer_id text not null,
  partner_id text references partners (id),
  status text not null default 'PENDING'
    check (status in ('PENDING', 'CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED')),
  description text not null default '',
  total_cents int not null default 0 check (total_cents >= 0),
  -- No default: left out (or null), orders_before_insert computes it from the fee.
  payout_cents int not null check (payout_cents between 0 and total_cents),
  last_latitude double precision check (last_latitude between -90 and 90),
  last_longitude double precision check (last_longitude between -180 and 180),
  last_location_at timestamptz,
  -- Bumped by every update: subscribers skip states they have already sent.
  version bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index orders_by_customer on orders (customer_id, id desc);
create index orders_by_partner on orders (partner_id, id desc) where partner_id is not null;

create table order_status_history (
  id bigserial primary key,
  order_id bigint not null references orders (id) on delete cascade,
  status text not null,
  note text,
  -- orders.version the change produced: an order's state as of an event shows
  -- the history up to that version.
  order_version bigint not null default 0,
  changed_at timestamptz not null default now()
);
create index order_status_history_by_order on order_status_history (order_id, id);

create table earnings (
  id bigserial primary key,
  partner_id text not null references partners (id),
  order_id bigint not null unique references orders (id),
  amount_cents int not null,
  created_at timestamptz not null default now()
);
create index earnings_by_partner on earnings (partner_id);

-- The status machine: PENDING → CONFIRMED → PICKED_UP → IN_PROGRESS → READY
-- → OUT_FOR_DELIVERY → DELIVERED, and CANCELLED from any state before DELIVERED.
create function order_status_step_allowed(p_from text, p_to text) returns boolean
language sql immutable as $$
  select (p_from, p_to) in (
    ('PENDING', 'CONFIRMED'),
    ('CONFIRMED', 'PICKED_UP'),
    ('PICKED_UP', 'IN_PROGRESS'),
    ('IN_PROGRESS', 'READY'),
    ('READY', 'OUT_FOR_DELIVERY'),
    ('OUT_FOR_DELIVERY', 'DELIVERED'))
  or (p_to = 'CANCELLED' and p_from not in ('DELIVERED', 'CANCELLED'))
$$;

-- The error every forbidden move raises. The API maps it to BAD_USER_INPUT by
-- its constraint name and reads from/to out of the detail.
create function order_status_refuse(p_order_id bigint, p_from text, p_to text) returns void
language plpgsql as $$
begin
  raise exception 'order % status cannot change from % to %', p_order_id, coalesce(p_from, '(new)'), p_to
    using errcode = 'check_violation',
          constraint = 'orders_status_transition',
          detail = jsonb_build_object('from', p_from, 'to', p_to)::text;
end
$$;

-- Fee rounded down to whole cents; the partner gets the rest.
create function order_payout_cents(p_total_cents int) returns int
language sql stable as $$
  select p_total_cents - (p_total_cents::bigint * fee_percent / 100)::int from platform_settings where id = 1
$$;

-- Writers of orders take the event lock before any row lock: every order
-- write emits an event (and so takes that lock anyway), and taking it first
-- keeps a multi-row update and a concurrent single-row one from deadlocking.
create function orders_take_event_lock() returns trigger language plpgsql as $$
begin
  perform event_order_lock();
  return null;
end
$$;

create trigger orders_take_event_lock before insert or update on orders
  for each statement execute function orders_take_event_lock();

-- An outside writer may name a partner the identity provider has not shown us
-- yet: its row appears, named after its id, and gets its real name at the
-- first sign-in of one of its users (just-in-time provisioning).
create function orders_ensure_partner(p_partner_id text) returns void language sql as $$
  insert into partners (id, business_name) values (p_partner_id, p_partner_id) on conflict (id) do nothing
$$;

create function orders_before_insert() returns trigger language plpgsql as $$
begin
  if new.partner_id is not null then
    perform orders_ensure_partner(new.partner_id);
  end if;
  if new.status <> 'PENDING' then
    perform order_status_refuse(new.id, null, new.status);
  end if;
  new.payout_cents := coalesce(new.payout_cents, order_payout_cents(new.total_cents));
  new.version := 1;
  return new;
end
$$;

create trigger orders_before_insert before insert on orders
  for each row execute function orders_before_insert();

create function orders_before_update() returns trigger language plpgsql as $$
begin
  if new.partner_id is distinct from old.partner_id and new.partner_id is not null then
    perform orders_ensure_partner(new.partner_id);
  end if;
  if new.status <> old.status and not order_status_step_allowed(old.status, new.status) then
    perform order_status_refuse(old.id, old.status, new.status);
  end if;
  -- A writer that changes the total without naming a payout gets the payout recomputed.
  if new.total_cents <> old.total_cents and new.payout_cents = old.payout_cents then
    new.payout_cents := order_payout_cents(new.total_cents);
  end if;
  new.version := old.version + 1;
  new.updated_at := now();
  return new;
end
$$;

create trigger orders_before_update before update on orders
  for each row execute function orders_before_update();

-- The partner's users hear about a new assignment, unless they muted NEW_ORDER.
create function orders_notify_partner(p_order orders) returns void language sql as $$
  insert into notifications (user_id, kind, priority, title, body, data)
  select u.id, 'NEW_ORDER', 'NORMAL', 'New order #' || p_order.id, left(p_order.description, 500),
         jsonb_build_object('orderId', p_order.id::text, 'status', p_order.status)
  from users u
  where u.partner_id = p_order.partner_id
    and notification_wanted(u.id, 'NEW_ORDER', 'NORMAL')
  order by u.id
$$;

create function orders_emit_assignment(p_order orders, p_previous_partner_id text) returns void language plpgsql as $$
begin
  if p_previous_partner_id is not null then
    perform emit_event('order.unassigned', jsonb_build_object(
      'orderId', p_order.id::text, 'partnerId', p_previous_partner_id, 'customerId', p_order.customer_id));
  end if;
  if p_order.partner_id is not null then
    perform emit_event('order.assigned', jsonb_build_object(
      'orderId', p_order.id::text, 'partnerId', p_order.partner_id, 'customerId', p_order.customer_id));
    perform orders_notify_partner(p_order);
  end if;
end
$$;

-- What order.created and order.updated carry: the order's small, changing
-- fields as of this change (location updates are frequent, so no description).
-- Subscribers read the row for the rest, and show each change as it was even
-- when the row has moved on.
create function order_event_payload(p_order orders) returns jsonb language sql stable as $$
  select jsonb_build_object(
    'orderId', p_order.id::text,
    'customerId', p_order.customer_id,
    'partnerId', p_order.partner_id,
    'status', p_order.status,
    'version', p_order.version,
    'latitude', p_order.last_latitude,
    'longitude', p_order.last_longitude,
    'locationAt', p_order.last_location_at,
    'updatedAt', p_order.updated_at)
$$;

create function orders_after_insert() returns trigger language plpgsql as $$
begin
  insert into order_status_history (order_id, status, order_version, changed_at) values (new.id, new.status, new.version, new.created_at);
  perform emit_event('order.created', order_event_payload(new));
  if new.partner_id is not null then
    perform orders_emit_assignment(new, null);
  end if;
  return null;
end
$$;

create trigger orders_after_insert after insert on orders
  for each row execute function orders_after_insert();

-- The API passes the note of a status change as the transaction-local setting
-- orders.status_note (see src/db/orders.ts); outside writers leave it unset.
create function orders_after_update() returns trigger language plpgsql as $$
declare
  status_changed boolean := new.status <> old.status;
  partner_changed boolean := new.partner_id is distinct from old.partner_id;
  status_note text := nullif(current_setting('orders.status_note', true), '');
begin
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

create trigger orders_after_update after update on orders
  for each row execute function orders_after_update();

-- totalCents is the partner's total after this entry. The event lock comes
-- first: it serializes event writers, so the sum sees every earlier entry.
create function earnings_emit_created() returns trigger language plpgsql as $$
declare
  total bigint;
begin
  perform event_order_lock();
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

create trigger earnings_emit_created after insert on earnings
  for each row execute function earnings_emit_created();
