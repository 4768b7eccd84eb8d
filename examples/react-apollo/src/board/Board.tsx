import { useQuery } from '@apollo/client/react';
import { useEffect, useRef } from 'react';
import { describeError, money, statusText, time } from '../format';
import { graphql } from '../gql';
import type { BoardOrderFragment } from '../gql/graphql';
import { routeHref } from '../route';

graphql(`
  fragment BoardOrder on Order {
    id
    description
    status
    totalCents
    updatedAt
    customer {
      id
      displayName
    }
    partner {
      id
      businessName
    }
    lastLocation {
      latitude
      longitude
      recordedAt
    }
  }
`);

const BoardOrders = graphql(`
  query BoardOrders($first: Int!) {
    orders(first: $first) {
      edges {
        node {
          ...BoardOrder
        }
      }
    }
  }
`);

// Without an orderId: every order the viewer can see (an admin: all of them), changes only.
const BoardUpdates = graphql(`
  subscription BoardUpdates {
    orderUpdated {
      ...BoardOrder
    }
  }
`);

const SHOWN = 50;

/**
 * The live board: the newest orders, then every change of any order as it
 * happens, the order just changed moved to the top (a new one added there).
 * The stream sends changes only, so after a reconnect the page is read again.
 */
export function Board({ connects }: { connects: number }) {
  const { data, error, subscribeToMore, refetch } = useQuery(BoardOrders, { variables: { first: SHOWN } });

  useEffect(
    () =>
      subscribeToMore({
        document: BoardUpdates,
        updateQuery: (previous, { subscriptionData }) => {
          const order = subscriptionData.data.orderUpdated;
          const others = previous.orders.edges.filter((edge) => edge.node.id !== order.id);
          return { ...previous, orders: { ...previous.orders, edges: [{ __typename: 'OrderEdge' as const, node: order }, ...others].slice(0, SHOWN) } };
        },
      }),
    [subscribeToMore],
  );

  const firstConnects = useRef(connects);
  useEffect(() => {
    if (connects > firstConnects.current) void refetch().catch(() => {});
  }, [connects, refetch]);

  const orders = data?.orders.edges.map((edge) => edge.node) ?? [];
  return (
    <section id="board" className="card">
      <h2>Live board</h2>
      {error && <p className="status error">{describeError(error)}</p>}
      {data && !orders.length && <p className="muted">No orders yet.</p>}
      <table className="board">
        <thead>
          <tr>
            <th>Order</th>
            <th>Customer</th>
            <th>Status</th>
            <th>Partner</th>
            <th>Location</th>
            <th>Total</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody id="board-orders">
          {orders.map((order) => (
            <BoardRow key={order.id} order={order} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function BoardRow({ order }: { order: BoardOrderFragment }) {
  const location = order.lastLocation;
  return (
    <tr data-order-id={order.id} data-status={order.status}>
      <td>
        <a href={routeHref({ page: 'orders', orderId: order.id })}>#{order.id}</a> {order.description}
      </td>
      <td className="customer">{order.customer.displayName}</td>
      <td>
        <span className="order-status" data-status={order.status}>
          {statusText(order.status)}
        </span>
      </td>
      <td className="partner">{order.partner?.businessName ?? '—'}</td>
      <td className="location" data-latitude={location?.latitude} data-longitude={location?.longitude}>
        {location ? `${location.latitude.toFixed(4)}, ${location.longitude.toFixed(4)}` : '—'}
      </td>
      <td>{money(order.totalCents)}</td>
      <td>
        <time dateTime={order.updatedAt}>{time(order.updatedAt)}</time>
      </td>
    </tr>
  );
}
