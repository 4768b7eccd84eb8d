import { useQuery } from '@apollo/client/react';
import { describeError, statusText } from '../format';
import { graphql } from '../gql';
import { routeHref } from '../route';
import { TrackedOrder } from './TrackedOrder';

// The same fields as TrackedOrder's fragment: when its subscription delivers
// the order, the cache updates this list's row too.
const MyOrders = graphql(`
  query MyOrders($first: Int!) {
    orders(first: $first) {
      edges {
        node {
          id
          description
          status
          updatedAt
        }
      }
    }
  }
`);

/** The viewer's orders (a customer's own, a partner's assigned), and one of them tracked live. */
export function OrdersPage({ selectedId }: { selectedId: string | null }) {
  const { data, error } = useQuery(MyOrders, { variables: { first: 20 } });
  const orders = data?.orders.edges.map((edge) => edge.node) ?? [];
  const trackedId = selectedId ?? orders[0]?.id ?? null;

  return (
    <div className="columns">
      <section className="card">
        <h2>Your orders</h2>
        {error && <p className="status error">{describeError(error)}</p>}
        {data && !orders.length && <p className="muted">No orders yet.</p>}
        <ul id="my-orders" className="order-list">
          {orders.map((order) => (
            <li key={order.id} data-order-id={order.id} data-status={order.status} aria-current={order.id === trackedId ? 'true' : undefined}>
              <a href={routeHref({ page: 'orders', orderId: order.id })}>
                #{order.id} {order.description}
              </a>
              <span className="order-status" data-status={order.status}>
                {statusText(order.status)}
              </span>
            </li>
          ))}
        </ul>
      </section>
      {trackedId && <TrackedOrder key={trackedId} orderId={trackedId} />}
    </div>
  );
}
