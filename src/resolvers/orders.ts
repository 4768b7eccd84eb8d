import type { Viewer } from '../auth/viewer.js';
import { viewerOf, type Context } from '../context.js';
import {
  findOrder,
  insertOrder,
  listOrders,
  lockOrder,
  setOrderLocation,
  setOrderPartner,
  setOrderStatus,
  statusRefusal,
} from '../db/orders.js';
import type { OrderStatusName } from '../db/types.js';
import { findPartner } from '../db/users.js';
import { badInput, forbidden, notFound } from '../errors.js';
import type { Channel } from '../pubsub/index.js';
import { builder } from '../schema/builder.js';
import { CreateOrderInput, Order, OrderConnection, OrderStatus, PartnerEvent } from '../schema/orders.js';
import { loadPage, pageArgs } from '../schema/pagination.js';
import { boundedText, optional, rowId } from '../input/arguments.js';
import { FANOUT, type FanoutKey } from '../schema/field-extensions.js';
import { boardAudienceOf, canSeeOrder, orderScopeOf, partiesOf } from '../schema/order-access.js';
import { orderChanges, partnerEvents } from '../streams/orders.js';

const DESCRIPTION_MAX = 2000;
const TOTAL_CENTS_MAX = 10_000_000;
const NOTE_MAX = 1000;

/** The status machine's refusal, named as CONTRACT.md wants it: BAD_USER_INPUT with from and to. */
function refusedMove(from: OrderStatusName | null, to: OrderStatusName) {
  return badInput('status', `cannot change from ${from ?? 'nothing'} to ${to}`);
}

function coordinate(value: number, field: 'latitude' | 'longitude', bound: number): number {
  if (!Number.isFinite(value) || value < -bound || value > bound) throw badInput(field, `must be between -${bound} and ${bound}`);
  return value;
}

/** What orderUpdated without an orderId follows: every order the viewer can see. */
function boardChannel(viewer: Viewer): Channel<'order.byCustomer' | 'order.byPartner' | 'order.all'> {
  const scope = orderScopeOf(viewer);
  if (scope.kind === 'customer') return ['order.byCustomer', scope.customerId];
  if (scope.kind === 'partner') return ['order.byPartner', scope.partnerId];
  return ['order.all', 'all'];
}

builder.queryFields((t) => ({
  order: t.field({
    type: Order,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const row = await findOrder(context.services.db, rowId(String(args.id), 'id'));
      // Someone else's order answers exactly like a missing one.
      return row && canSeeOrder(viewerOf(context), partiesOf(row)) ? row : null;
    },
  }),
  orders: t.field({
    type: OrderConnection,
    authScopes: { authenticated: true },
    args: { ...pageArgs(t.arg, 20), status: t.arg({ type: OrderStatus }) },
    resolve: (_root, args, context) => {
      const { config, db } = context.services;
      return loadPage(args, 20, config.limits.pageSizeMax, (page) =>
        listOrders(db, { ...page, scope: orderScopeOf(viewerOf(context)), status: args.status ?? null }),
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  createOrder: t.field({
    type: Order,
    description: 'CUSTOMER (or ADMIN).',
    authScopes: { customer: true, admin: true },
    args: { input: t.arg({ type: CreateOrderInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const description = boundedText(input.description, 'input.description', { min: 1, max: DESCRIPTION_MAX, trim: true });
      if (!Number.isInteger(input.totalCents) || input.totalCents < 0 || input.totalCents > TOTAL_CENTS_MAX) {
        throw badInput('input.totalCents', `must be a whole number of cents between 0 and ${TOTAL_CENTS_MAX}`);
      }
      return insertOrder(context.services.db, { customerId: viewerOf(context).id, description, totalCents: input.totalCents });
    },
  }),
  assignOrder: t.field({
    type: Order,
    description: 'ADMIN only. Null partnerId unassigns.',
    authScopes: { admin: true },
    args: { orderId: t.arg.id({ required: true }), partnerId: t.arg.id() },
    resolve: async (_root, args, context) => {
      const orderId = rowId(String(args.orderId), 'orderId');
      const partnerId = optional(args.partnerId, String);
      return context.services.db.transaction().execute(async (trx) => {
        const order = await lockOrder(trx, orderId);
        if (!order) throw notFound('Order');
        if (partnerId !== null && !(await findPartner(trx, partnerId))) throw notFound('Partner');
        // Assigning the partner it already has changes nothing and tells no one.
        if (order.partner_id === partnerId) return order;
        return setOrderPartner(trx, orderId, partnerId);
      });
    },
  }),
  updateOrderStatus: t.field({
    type: Order,
    description: 'The assigned partner or ADMIN; the customer may only CANCEL a PENDING order.',
    authScopes: { authenticated: true },
    args: {
      orderId: t.arg.id({ required: true }),
      status: t.arg({ type: OrderStatus, required: true }),
      note: t.arg.string(),
    },
    resolve: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const orderId = rowId(String(args.orderId), 'orderId');
      const to = args.status;
      const note = optional(args.note, (text) => boundedText(text, 'note', { max: NOTE_MAX, trim: true }) || null);
      try {
        return await context.services.db.transaction().execute(async (trx) => {
          const order = await lockOrder(trx, orderId);
          if (!order || !canSeeOrder(viewer, partiesOf(order))) throw notFound('Order');
          if (viewer.role === 'CUSTOMER' && !(to === 'CANCELLED' && order.status === 'PENDING')) {
            throw forbidden('A customer may only cancel a PENDING order');
          }
          // The database allows writing the same status (it is no move); a client asking for it is asking for a move that does not exist.
          if (order.status === to) throw refusedMove(order.status, to);
          return setOrderStatus(trx, orderId, to, note);
        });
      } catch (error) {
        // The status machine lives in the database (orders_before_update); its refusal is the client's mistake.
        const refusal = statusRefusal(error);
        if (refusal) throw refusedMove(refusal.from, refusal.to);
        throw error;
      }
    },
  }),
  updateOrderLocation: t.field({
    type: Order,
    description: 'The assigned partner only.',
    authScopes: { authenticated: true },
    args: {
      orderId: t.arg.id({ required: true }),
      latitude: t.arg.float({ required: true }),
      longitude: t.arg.float({ required: true }),
    },
    resolve: async (_root, args, context) => {
      const { db } = context.services;
      const viewer = viewerOf(context);
      const orderId = rowId(String(args.orderId), 'orderId');
      const location = { latitude: coordinate(args.latitude, 'latitude', 90), longitude: coordinate(args.longitude, 'longitude', 180) };
      if (viewer.role === 'PARTNER' && viewer.partnerId !== null) {
        const row = await setOrderLocation(db, orderId, viewer.partnerId, location);
        if (!row) throw notFound('Order');
        return row;
      }
      // Nobody else shares a location; whether the caller learns the order exists follows the rules of access.
      const order = await findOrder(db, orderId);
      if (!order || !canSeeOrder(viewer, partiesOf(order))) throw notFound('Order');
      throw forbidden('Only the assigned partner shares its location');
    },
  }),
}));

builder.subscriptionFields((t) => ({
  orderUpdated: t.field({
    type: Order,
    description: "First the order's current state, then every change. Without orderId: every order the caller can see.",
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id() },
    // The board (no orderId) is the same stream for viewers who see the same orders; one order's starts with its own current state.
    extensions: { [FANOUT]: ((args, context) => (args['orderId'] == null ? boardAudienceOf(viewerOf(context as Context)) : null)) satisfies FanoutKey },
    subscribe: async (_root, args, context) => {
      const { db, pubsub } = context.services;
      const viewer = viewerOf(context);
      if (args.orderId === null || args.orderId === undefined) {
        const live = await pubsub.subscribe([boardChannel(viewer)]);
        return orderChanges({ live, viewer, db, current: null });
      }
      const orderId = rowId(String(args.orderId), 'orderId');
      // Subscribed before the current state is read: no change falls in between.
      const live = await pubsub.subscribe([['order.byId', orderId] as const]);
      try {
        const current = await findOrder(db, orderId);
        if (!current || !canSeeOrder(viewer, partiesOf(current))) throw notFound('Order');
        return orderChanges({ live, viewer, db, current });
      } catch (error) {
        await live.return();
        throw error;
      }
    },
    resolve: (row) => row,
  }),
  partnerEvent: t.field({
    type: PartnerEvent,
    description: "PARTNER only: events for the caller's partner.",
    authScopes: { partner: true },
    // Every user of a partner gets the same events.
    extensions: { [FANOUT]: ((_args, context) => `partner:${viewerOf(context as Context).partnerId ?? ''}`) satisfies FanoutKey },
    subscribe: async (_root, _args, context) => {
      const { db, pubsub } = context.services;
      const partnerId = viewerOf(context).partnerId;
      if (partnerId === null) throw forbidden();
      const live = await pubsub.subscribe([['partner.event', partnerId] as const]);
      return partnerEvents(live, db);
    },
    resolve: (event) => event,
  }),
}));
