import type { Client } from '@urql/core';
import { describeError, h, money, time } from './dom';
import { graphql } from './gql';
import type { TrackedOrderFragment } from './gql/graphql';

graphql(`
  fragment TrackedOrder on Order {
    id
    description
    status
    totalCents
    updatedAt
    partner {
      id
      businessName
    }
    lastLocation {
      latitude
      longitude
      recordedAt
    }
    statusHistory {
      status
      changedAt
      note
    }
  }
`);

const OrderUpdated = graphql(`
  subscription TrackOrder($orderId: ID!) {
    orderUpdated(orderId: $orderId) {
      ...TrackedOrder
    }
  }
`);

/**
 * The order tracker: `orderUpdated(orderId)` sends the order as it is now,
 * then again after every change (status, partner, location), so the screen is
 * simply the latest event.
 */
export function mountTracker(root: HTMLElement, client: Client, orderId: string): void {
  const body = h('div', { class: 'order' }, h('p', { class: 'muted' }, 'Loading the order…'));
  root.replaceChildren(h('h2', {}, `Order #${orderId}`), body);
  root.hidden = false;
  client.subscription(OrderUpdated, { orderId }).subscribe((result) => {
    if (result.error) {
      body.replaceChildren(h('p', { class: 'status error', id: 'order-error' }, describeError(result.error)));
      return;
    }
    if (result.data) body.replaceChildren(...renderOrder(result.data.orderUpdated));
  });
}

function renderOrder(order: TrackedOrderFragment): Node[] {
  const location = order.lastLocation;
  return [
    h('p', { class: 'description' }, order.description),
    h('p', {}, 'Status: ', h('strong', { id: 'order-status', class: 'order-status', 'data-status': order.status }, order.status.replaceAll('_', ' '))),
    h('p', {}, 'Partner: ', h('span', { id: 'order-partner' }, order.partner?.businessName ?? 'not assigned yet')),
    h(
      'p',
      {},
      'Location: ',
      h(
        'span',
        { id: 'order-location', 'data-latitude': location ? String(location.latitude) : undefined, 'data-longitude': location ? String(location.longitude) : undefined },
        location ? `${location.latitude.toFixed(5)}, ${location.longitude.toFixed(5)} at ${time(location.recordedAt)}` : 'no position yet',
      ),
    ),
    h('p', { class: 'muted' }, `Total ${money(order.totalCents)} · updated ${time(order.updatedAt)}`),
    h(
      'ol',
      { class: 'history', id: 'order-history' },
      ...order.statusHistory.map((change) =>
        h('li', { 'data-status': change.status }, h('strong', {}, change.status.replaceAll('_', ' ')), ` ${time(change.changedAt)}`, change.note ? ` — ${change.note}` : null),
      ),
    ),
  ];
}
