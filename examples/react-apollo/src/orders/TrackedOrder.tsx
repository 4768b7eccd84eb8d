import { useSubscription } from '@apollo/client/react';
import { describeError, money, statusText, time } from '../format';
import { graphql } from '../gql';
import type { TrackedOrderFragment } from '../gql/graphql';

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

const TrackOrder = graphql(`
  subscription TrackOrder($orderId: ID!) {
    orderUpdated(orderId: $orderId) {
      ...TrackedOrder
    }
  }
`);

/**
 * One order live: `orderUpdated(orderId)` sends the order as it is now, then
 * again after every change (status, partner, location), so the screen is
 * simply the latest event; a reconnect re-subscribes and catches up by itself.
 */
export function TrackedOrder({ orderId }: { orderId: string }) {
  const { data, error } = useSubscription(TrackOrder, { variables: { orderId } });
  return (
    <section id="tracker" className="card" data-order-id={orderId}>
      <h2>Order #{orderId}</h2>
      {error ? (
        <p className="status error" id="order-error">
          {describeError(error)}
        </p>
      ) : data ? (
        <OrderDetails order={data.orderUpdated} />
      ) : (
        <p className="muted">Loading the order…</p>
      )}
    </section>
  );
}

function OrderDetails({ order }: { order: TrackedOrderFragment }) {
  const location = order.lastLocation;
  return (
    <div className="order">
      <p className="description">{order.description}</p>
      <p>
        Status:{' '}
        <strong id="order-status" className="order-status" data-status={order.status}>
          {statusText(order.status)}
        </strong>
      </p>
      <p>
        Partner: <span id="order-partner">{order.partner?.businessName ?? 'not assigned yet'}</span>
      </p>
      <p>
        Location:{' '}
        <span id="order-location" data-latitude={location?.latitude} data-longitude={location?.longitude}>
          {location ? `${location.latitude.toFixed(5)}, ${location.longitude.toFixed(5)} at ${time(location.recordedAt)}` : 'no position yet'}
        </span>
      </p>
      <p className="muted">
        Total {money(order.totalCents)} · updated {time(order.updatedAt)}
      </p>
      <ol className="history" id="order-history">
        {order.statusHistory.map((change) => (
          <li key={`${change.status}-${change.changedAt}`} data-status={change.status}>
            <strong>{statusText(change.status)}</strong> {time(change.changedAt)}
            {change.note ? ` — ${change.note}` : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
