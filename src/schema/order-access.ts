/**
 * CONTRACT.md "Rules of access" for orders, stated once: the order and chat
 * resolvers, the order streams and the board's fan-out key all ask here.
 */
import type { Viewer } from '../auth/viewer.js';
import type { OrderRow } from '../db/types.js';
import type { OrderScope } from '../db/orders.js';

/** Who an order belongs to, as a row or an event payload tells it. */
export interface OrderParties {
  customerId: string;
  partnerId: string | null;
}

export function partiesOf(row: Pick<OrderRow, 'customer_id' | 'partner_id'>): OrderParties {
  return { customerId: row.customer_id, partnerId: row.partner_id };
}

/** CONTRACT.md "Rules of access": the customer their own orders, a partner the orders assigned to it, an admin all. */
export function canSeeOrder(viewer: Viewer, order: OrderParties): boolean {
  switch (viewer.role) {
    case 'ADMIN':
      return true;
    case 'CUSTOMER':
      return order.customerId === viewer.id;
    case 'PARTNER':
      return order.partnerId !== null && order.partnerId === viewer.partnerId;
  }
}

/**
 * Whether the viewer takes part in the order's conversation: whoever may see
 * the order, and its customer whatever their role is now, as
 * conversation_members() counts them (migrations/…_chat.sql).
 */
export function takesPartInOrder(viewer: Viewer, order: OrderParties): boolean {
  return order.customerId === viewer.id || canSeeOrder(viewer, order);
}

/** The orders a viewer may list. */
export function orderScopeOf(viewer: Viewer): OrderScope {
  switch (viewer.role) {
    case 'ADMIN':
      return { kind: 'all' };
    case 'CUSTOMER':
      return { kind: 'customer', customerId: viewer.id };
    case 'PARTNER':
      return { kind: 'partner', partnerId: viewer.partnerId ?? '' };
  }
}

/** Viewers who see exactly the same orders: one board stream may serve them all (fan-out key). */
export function boardAudienceOf(viewer: Viewer): string {
  switch (viewer.role) {
    case 'ADMIN':
      return 'admins';
    case 'CUSTOMER':
      return `customer:${viewer.id}`;
    case 'PARTNER':
      return `partner:${viewer.partnerId ?? ''}`;
  }
}
