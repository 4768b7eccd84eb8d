import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import { Subscription, type Result } from './clients.js';
import { deferred } from './deferred.js';

export interface LegacyConnection {
  client: SubscriptionClient;
  /** Resolves at connection_ack; rejects with the payload of a connection_error. */
  connected: Promise<void>;
  /** Resolves when the socket closed, whoever closed it (the client does not say with which code). */
  disconnected: Promise<void>;
  /** A typed document, or a query's text (for documents no client would send). */
  subscribe<T, V>(document: TypedDocumentNode<T, V> | string, variables?: V): Subscription<T>;
  close(): void;
}

/**
 * The real subscriptions-transport-ws client (what Apollo's `WebSocketLink`
 * runs), on `ws`, not reconnecting, so tests see every close. `timeout` is how
 * long it waits for the next `ka` before it gives the connection up.
 */
export function legacyConnect(httpUrl: string, connectionParams: Record<string, unknown>, options: { timeout?: number } = {}): LegacyConnection {
  const connected = deferred();
  const disconnected = deferred();
  connected.promise.catch(() => {});
  const client = new SubscriptionClient(
    httpUrl.replace(/^http/, 'ws'),
    {
      connectionParams,
      reconnect: false,
      ...(options.timeout ? { timeout: options.timeout } : {}),
      connectionCallback: (error) => (error ? connected.reject(error) : connected.resolve()),
    },
    WebSocket,
  );
  client.onDisconnected(() => {
    disconnected.resolve();
    connected.reject(new Error('disconnected before connection_ack'));
  });
  return {
    client,
    connected: connected.promise,
    disconnected: disconnected.promise,
    subscribe<T, V>(document: TypedDocumentNode<T, V> | string, variables?: V) {
      let subscription!: Subscription<T>;
      const { unsubscribe } = client.request({ query: typeof document === 'string' ? document : print(document), variables: variables ?? {} }).subscribe({
        next: (result) => subscription.onResult(result as Result<T>),
        error: (error) => subscription.onEnd(error),
        complete: () => subscription.onEnd(),
      });
      subscription = new Subscription<T>(unsubscribe);
      return subscription;
    },
    close: () => client.close(),
  };
}
