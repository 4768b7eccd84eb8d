import { ApolloClient, InMemoryCache, split, HttpLink } from '@apollo/client/core';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { isLiveQueryOperationDefinitionNode } from '@n1ru4l/graphql-live-query';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { getOperationAST } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { LiveOrderDocument, type LiveOrderQuery } from './generated/graphql.js';
import { deferred } from './support/deferred.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { newPeople, type Person } from './support/world.js';

/** The two client libraries the README shows, holding a live query as the README says to. */
describe.each(BACKENDS)('live queries from Apollo Client and urql on %s', (backend) => {
  let t: TestServer;
  const sockets: WsClient[] = [];
  const people = newPeople(() => t, 'lcl');

  function socketFor(user: Person): WsClient {
    const ws = createWsClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${user.token}` }, retryAttempts: 0 });
    sockets.push(ws);
    return ws;
  }

  async function newOrder(customer: Person): Promise<string> {
    const [row] = await t.sql<{ id: string }>(`insert into orders (customer_id, description, total_cents) values ($1, 'Live', 1000) returning id::text`, [customer.id]);
    return row!.id;
  }

  /** Collects statuses from a client's results until `wanted` is among them. */
  function statuses() {
    const seen: string[] = [];
    let waiting: { status: string; done: () => void } | null = null;
    return {
      seen,
      add(result: LiveOrderQuery | undefined) {
        const status = result?.order?.status;
        if (!status || seen.at(-1) === status) return;
        seen.push(status);
        if (waiting?.status === status) waiting.done();
      },
      async until(status: string) {
        if (seen.includes(status)) return;
        const arrived = deferred();
        waiting = { status, done: () => arrived.resolve() };
        await arrived.promise;
      },
    };
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
  });

  afterAll(async () => {
    await Promise.all(sockets.map((ws) => ws.dispose()));
    await t?.stop();
  });

  it('Apollo Client: a split link sends @live queries over GraphQLWsLink, and watchQuery sees every new result', async () => {
    const customer = await people.customer();
    const orderId = await newOrder(customer);
    const link = split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && (definition.operation === 'subscription' || isLiveQueryOperationDefinitionNode(definition));
      },
      new GraphQLWsLink(socketFor(customer)),
      new HttpLink({ uri: t.url, headers: { authorization: `Bearer ${customer.token}` } }),
    );
    const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
    const seen = statuses();
    const watching = apollo.watchQuery({ query: LiveOrderDocument, variables: { id: orderId }, fetchPolicy: 'network-only' }).subscribe({ next: (result) => seen.add(result.data) });
    try {
      await seen.until('PENDING');
      await t.sql(`update orders set status = 'CANCELLED' where id = $1`, [orderId]);
      await seen.until('CANCELLED');
      expect(seen.seen).toEqual(['PENDING', 'CANCELLED']);
    } finally {
      watching.unsubscribe();
      apollo.stop();
    }
  });

  it("urql: subscriptionExchange forwards @live queries, and the query's source sees every new result", async () => {
    const customer = await people.customer();
    const orderId = await newOrder(customer);
    const ws = socketFor(customer);
    const urql = new UrqlClient({
      url: t.url,
      fetchOptions: { headers: { authorization: `Bearer ${customer.token}` } },
      requestPolicy: 'network-only',
      exchanges: [
        subscriptionExchange({
          // Live queries go to the socket like subscriptions; every other query and mutation over HTTP.
          isSubscriptionOperation: (operation) => {
            const definition = getOperationAST(operation.query);
            return operation.kind === 'subscription' || (definition != null && isLiveQueryOperationDefinitionNode(definition, operation.variables as Record<string, unknown>));
          },
          forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }) }),
        }),
        fetchExchange,
      ],
    });
    const seen = statuses();
    const watching = urql.query(LiveOrderDocument, { id: orderId }).subscribe((result) => seen.add(result.data));
    try {
      await seen.until('PENDING');
      await t.sql(`update orders set status = 'CANCELLED' where id = $1`, [orderId]);
      await seen.until('CANCELLED');
      expect(seen.seen).toEqual(['PENDING', 'CANCELLED']);
    } finally {
      watching.unsubscribe();
    }
  });
});
