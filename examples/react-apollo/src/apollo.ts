import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type NormalizedCacheObject } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { webSocketUrl, type Settings } from './settings';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'refused';

export interface Connection {
  state: ConnectionState;
  /** The close code and reason when the token was refused. */
  detail?: string;
  /** How many times the socket has connected: a change after the first means it reconnected. */
  connects: number;
}

/** The socket's state for `useSyncExternalStore`. */
export interface ConnectionStore {
  get(): Connection;
  subscribe(listener: () => void): () => void;
}

export interface Api {
  client: ApolloClient<NormalizedCacheObject>;
  ws: WsClient;
  connection: ConnectionStore;
}

/** graphql-ws close codes after which retrying with the same token cannot help. */
const TOKEN_REFUSED = new Set([4401, 4403]);

/**
 * One ApolloClient: subscriptions over one graphql-ws socket (GraphQLWsLink,
 * the token in `connection_init`), queries and mutations over HTTP
 * (HttpLink, the token in the Authorization header). Every result lands in
 * the normalized cache, so an order a subscription delivers updates every
 * list that shows it.
 */
export function createApi(settings: Settings & { token: string }): Api {
  const connection = connectionStore();
  let refused = false;
  const ws = createClient({
    url: webSocketUrl(settings.endpoint),
    connectionParams: { authorization: `Bearer ${settings.token}` },
    lazy: false,
    // Pings keep load balancers from closing a quiet socket as idle.
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)),
    on: {
      connecting: (isRetry) => connection.set({ state: isRetry ? 'reconnecting' : 'connecting' }),
      connected: () => connection.set({ state: 'connected', connects: connection.get().connects + 1 }),
      closed: (event) => {
        if (event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)) {
          refused = true;
          connection.set({ state: 'refused', detail: `${event.code} ${event.reason}` });
        } else if (!refused) connection.set({ state: 'reconnecting' });
      },
    },
  });

  const http = new HttpLink({ uri: settings.endpoint, headers: { authorization: `Bearer ${settings.token}` } });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    http,
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return { client, ws, connection };
}

function connectionStore(): ConnectionStore & { set(change: Partial<Connection>): void } {
  let current: Connection = { state: 'connecting', connects: 0 };
  const listeners = new Set<() => void>();
  return {
    get: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(change) {
      current = { state: change.state ?? current.state, detail: change.detail, connects: change.connects ?? current.connects };
      for (const listener of listeners) listener();
    },
  };
}
