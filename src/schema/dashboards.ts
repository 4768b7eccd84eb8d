import type { AdminFigures, PartnerFigures } from '../db/dashboards.js';
import type { OrderStatusName } from '../db/types.js';
import { builder } from './builder.js';
import { ORDER_STATUSES, OrderStatus } from './orders.js';

const OrderStatusCount = builder.objectRef<{ status: OrderStatusName; count: number }>('OrderStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: OrderStatus, resolve: (row) => row.status }),
    count: t.exposeInt('count'),
  }),
});

export const AdminDashboard = builder.objectRef<AdminFigures & { onlineUsers: number }>('AdminDashboard').implement({
  description: "What an ADMIN's dashboard shows. Days are UTC days.",
  fields: (t) => ({
    ordersByStatus: t.field({
      type: [OrderStatusCount],
      description:
        'Every status, zero counts included, in lifecycle order: PENDING, CONFIRMED, PICKED_UP, IN_PROGRESS, READY, OUT_FOR_DELIVERY, DELIVERED, CANCELLED.',
      resolve: (figures) => ORDER_STATUSES.map((status) => ({ status, count: figures.byStatus[status] ?? 0 })),
    }),
    ordersToday: t.exposeInt('ordersToday', { description: 'Orders created since the start of today.' }),
    revenueTodayCents: t.exposeInt('revenueTodayCents', { description: 'Sum of totalCents of the orders that became DELIVERED today.' }),
    activePartners: t.exposeInt('activePartners', { description: 'Partners with at least one assigned order that is neither DELIVERED nor CANCELLED.' }),
    onlineUsers: t.exposeInt('onlineUsers', { description: 'Users online now, cluster-wide (see Presence).' }),
  }),
});

export const PartnerDashboard = builder.objectRef<PartnerFigures>('PartnerDashboard').implement({
  description: "What a PARTNER's dashboard shows, for the caller's partner. Days are UTC days.",
  fields: (t) => ({
    activeOrders: t.exposeInt('activeOrders', { description: 'Assigned orders that are neither DELIVERED nor CANCELLED.' }),
    deliveredToday: t.exposeInt('deliveredToday', { description: 'Assigned orders that became DELIVERED today.' }),
    earningsTodayCents: t.exposeInt('earningsTodayCents', { description: 'Earnings entries of today, summed.' }),
    earningsTotalCents: t.exposeInt('earningsTotalCents', { description: 'Equals Partner.earningsTotalCents.' }),
  }),
});
