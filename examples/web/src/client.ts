import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { getOperationAST, type DocumentNode } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { webSocketUrl, type Settings } from './settings';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'refused';

export interface Api {
  urql: Client;
  ws: WsClient;
}

/** graphql-ws close codes after which retrying with the same token cannot help. */
const TOKEN_REFUSED = new Set([4401, 4403]);

/**
 * Built with VITE_TRUSTED_DOCUMENTS=true, the page sends each document's id
 * instead of its text, for a server started with TRUSTED_DOCUMENTS=src/gql/persisted-documents.json.
 */
const TRUSTED_DOCUMENTS = import.meta.env.VITE_TRUSTED_DOCUMENTS === 'true';

/** The id the codegen client preset embeds in each document (`persistedDocuments`), as persisted-documents.json lists it. */
function documentId(document: DocumentNode): string {
  const hash = (document as DocumentNode & { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== 'string') throw new Error('A document without a persisted id: run npm run codegen');
  return hash;
}

/**
 * Queries and mutations go over HTTP (fetchExchange), subscriptions over one
 * graphql-ws socket (subscriptionExchange). No document cache: every screen is
 * driven by a subscription that starts with the current state, so a
 * reconnect re-subscribes and the screen catches up by itself.
 */
export function createApi(settings: Settings & { token: string }, onState: (state: ConnectionState, detail?: string) => void): Api {
  let refused = false;
  const ws = createWsClient({
    url: webSocketUrl(settings.endpoint),
    connectionParams: { authorization: `Bearer ${settings.token}` },
    lazy: false,
    // Pings keep load balancers from closing a quiet socket as idle.
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)),
    on: {
      connecting: (isRetry) => onState(isRetry ? 'reconnecting' : 'connecting'),
      connected: () => onState('connected'),
      closed: (event) => {
        if (event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)) {
          refused = true;
          onState('refused', `${event.code} ${event.reason}`);
        } else if (!refused) onState('reconnecting');
      },
    },
  });
  const urql = new Client({
    url: settings.endpoint,
    // POST always: the API refuses cross-site GETs without a preflighted header.
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${settings.token}` } }),
    exchanges: [
      // Ids only, for every kind of operation: a server in trusted mode refuses text, so there is nothing to fall back to.
      ...(TRUSTED_DOCUMENTS
        ? [
            persistedExchange({
              enforcePersistedQueries: true,
              enableForMutation: true,
              enableForSubscriptions: true,
              preferGetForPersistedQueries: false,
              generateHash: async (_query, document) => documentId(document),
            }),
          ]
        : []),
      fetchExchange,
      subscriptionExchange({
        // Live queries (`query … @live`) stream like subscriptions: over the socket too.
        isSubscriptionOperation: (operation) => operation.kind === 'subscription' || isLiveQuery(operation.query),
        forwardSubscription(request) {
          const payload = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(payload, sink) };
            },
          };
        },
      }),
    ],
  });
  return { urql, ws };
}

function isLiveQuery(document: DocumentNode): boolean {
  const operation = getOperationAST(document);
  return operation?.operation === 'query' && (operation.directives ?? []).some((directive) => directive.name.value === 'live');
}
