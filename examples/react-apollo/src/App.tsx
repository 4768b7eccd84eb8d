import { useQuery } from '@apollo/client/react';
import { useSyncExternalStore } from 'react';
import type { ConnectionState, ConnectionStore } from './apollo';
import { Bell } from './bell/Bell';
import { Board } from './board/Board';
import { describeError } from './format';
import { graphql } from './gql';
import { OrdersPage } from './orders/OrdersPage';
import { routeHref, useRoute, type Route } from './route';
import type { Settings } from './settings';

const Me = graphql(`
  query Me {
    me {
      id
      displayName
      role
      partner {
        id
        businessName
      }
    }
  }
`);

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'live',
  reconnecting: 'reconnecting…',
  refused: 'token refused',
};

export function App({ settings, connection }: { settings: Settings; connection: ConnectionStore }) {
  const socket = useSyncExternalStore(connection.subscribe, connection.get);
  // The first request also provisions the user from the token's claims; the rest waits for it.
  const { data, error } = useQuery(Me);
  const viewer = data?.me;
  const route: Route = useRoute() ?? (viewer?.role === 'ADMIN' ? { page: 'board' } : { page: 'orders', orderId: settings.orderId });

  return (
    <>
      <header className="top">
        <h1>Marketplace</h1>
        <nav>
          <a href={routeHref({ page: 'orders', orderId: null })} aria-current={route.page === 'orders' ? 'page' : undefined}>
            Orders
          </a>
          <a href={routeHref({ page: 'board' })} aria-current={route.page === 'board' ? 'page' : undefined}>
            Live board
          </a>
        </nav>
        <span id="who" className={error ? 'error' : 'muted'} data-user-id={viewer?.id}>
          {error
            ? describeError(error)
            : viewer
              ? `${viewer.displayName} · ${viewer.role.toLowerCase()}${viewer.partner ? ` of ${viewer.partner.businessName}` : ''}`
              : 'signing in…'}
        </span>
        <span id="connection" className="connection" data-state={socket.state}>
          {CONNECTION_TEXT[socket.state]}
          {socket.detail ? ` (${socket.detail})` : ''}
        </span>
        <div className="bell">{viewer && <Bell />}</div>
      </header>
      <main>
        {viewer && route.page === 'orders' && <OrdersPage selectedId={route.orderId} />}
        {viewer && route.page === 'board' && <Board connects={socket.connects} />}
      </main>
    </>
  );
}
