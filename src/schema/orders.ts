import { orderLoaders } from '../db/orders.js';
import { partnerLoaders } from '../db/partners.js';
import type { OrderRow, OrderStatusChangeRow, OrderStatusName, UserRow } from '../db/types.js';
import { builder } from './builder.js';
import { connectionType } from './pagination.js';
import { Partner } from './partners.js';
import { DateTime } from './scalars.js';
import { User } from './users.js';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'PICKED_UP', 'IN_PROGRESS', 'READY', 'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED'] as const satisfies readonly OrderStatusName[];

export const OrderStatus = builder.enumType('OrderStatus', { values: ORDER_STATUSES });

interface LocationValue {
  latitude: number;
  longitude: number;
  recordedAt: Date;
}

export const Location = builder.objectRef<LocationValue>('Location').implement({
  fields: (t) => ({
    latitude: t.exposeFloat('latitude'),
    longitude: t.exposeFloat('longitude'),
    recordedAt: t.field({ type: DateTime, resolve: (location) => location.recordedAt }),
  }),
});

export const OrderStatusChange = builder.objectRef<OrderStatusChangeRow>('OrderStatusChange').implement({
  fields: (t) => ({
    status: t.field({ type: OrderStatus, resolve: (change) => change.status }),
    note: t.exposeString('note', { nullable: true }),
    changedAt: t.field({ type: DateTime, resolve: (change) => change.changed_at }),
  }),
});

/** An order row may name a customer who never signed in (a plain SQL insert): they still have an id. */
function unseenCustomer(row: OrderRow): UserRow {
  return { id: row.customer_id, role: 'CUSTOMER', display_name: row.customer_id, partner_id: null, created_at: row.created_at, updated_at: row.created_at };
}

// Field reads go through batch loaders: a page of orders, or one order event
// reaching many subscribers of this process, costs one query per field.
export const Order = builder.objectRef<OrderRow>('Order').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: OrderStatus, resolve: (row) => row.status }),
    description: t.exposeString('description'),
    totalCents: t.exposeInt('total_cents'),
    payoutCents: t.exposeInt('payout_cents', {
      description: 'What the assigned partner earns when the order is delivered: totalCents less the platform fee.',
    }),
    customer: t.field({
      type: User,
      resolve: async (row, _args, { services }) => (await orderLoaders(services.db).user(row.customer_id)) ?? unseenCustomer(row),
    }),
    partner: t.field({
      type: Partner,
      nullable: true,
      resolve: async (row, _args, { services }) => (row.partner_id ? ((await partnerLoaders(services.db).partner(row.partner_id)) ?? null) : null),
    }),
    lastLocation: t.field({
      type: Location,
      nullable: true,
      resolve: (row) =>
        row.last_location_at && row.last_latitude !== null && row.last_longitude !== null
          ? { latitude: row.last_latitude, longitude: row.last_longitude, recordedAt: row.last_location_at }
          : null,
    }),
    statusHistory: t.field({
      type: [OrderStatusChange],
      description: 'Oldest first, starting with PENDING.',
      resolve: async (row, _args, { services }) => {
        const history = (await orderLoaders(services.db).history(row.id)) ?? [];
        // A subscription shows an order as of its event: the history up to that change.
        const version = Number(row.version);
        return history.filter((change) => Number(change.order_version) <= version);
      },
    }),
    createdAt: t.field({ type: DateTime, resolve: (row) => row.created_at }),
    updatedAt: t.field({ type: DateTime, resolve: (row) => row.updated_at }),
  }),
});

export const OrderConnection = connectionType('Order', Order);

export const CreateOrderInput = builder.inputType('CreateOrderInput', {
  fields: (t) => ({
    description: t.string({ required: true }),
    totalCents: t.int({ required: true }),
  }),
});

export type PartnerEventValue =
  | { kind: 'OrderAssigned'; occurredAt: string; order: OrderRow }
  | { kind: 'OrderUnassigned'; occurredAt: string; orderId: string }
  | { kind: 'EarningsUpdated'; occurredAt: string; order: OrderRow; amountCents: number; totalCents: number };

export const PartnerEvent = builder.interfaceRef<PartnerEventValue>('PartnerEvent').implement({
  resolveType: (event) => event.kind,
  fields: (t) => ({
    occurredAt: t.field({ type: DateTime, resolve: (event) => event.occurredAt }),
  }),
});

export const OrderAssigned = builder.objectRef<Extract<PartnerEventValue, { kind: 'OrderAssigned' }>>('OrderAssigned').implement({
  interfaces: [PartnerEvent],
  fields: (t) => ({
    order: t.field({ type: Order, resolve: (event) => event.order }),
  }),
});

export const OrderUnassigned = builder.objectRef<Extract<PartnerEventValue, { kind: 'OrderUnassigned' }>>('OrderUnassigned').implement({
  interfaces: [PartnerEvent],
  fields: (t) => ({
    orderId: t.exposeID('orderId'),
  }),
});

export const EarningsUpdated = builder.objectRef<Extract<PartnerEventValue, { kind: 'EarningsUpdated' }>>('EarningsUpdated').implement({
  interfaces: [PartnerEvent],
  fields: (t) => ({
    order: t.field({ type: Order, description: 'The delivered order that earned it.', resolve: (event) => event.order }),
    amountCents: t.exposeInt('amountCents'),
    totalCents: t.exposeInt('totalCents', { description: "The partner's earnings total after this entry." }),
  }),
});
