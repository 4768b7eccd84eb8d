-- Orders, their status history and the partners' earnings ledger.
-- (Tables only so far; triggers and the status machine follow in this file.)

create table orders (
  id bigserial primary key,
  customer_id text not null,
  partner_id text references partners (id),
  status text not null default 'PENDING'
    check (status in ('PENDING', 'CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED')),
  description text not null default '',
  total_cents int not null default 0 check (total_cents >= 0),
  payout_cents int not null default 0 check (payout_cents >= 0),
  last_latitude double precision,
  last_longitude double precision,
  last_location_at timestamptz,
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
