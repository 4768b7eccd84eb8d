/**
 * How bench/fanout.ts sends its mutations: one HTTP POST each, or over
 * graphql-ws connections of each sending user (`--mutations-over ws`),
 * opened before the measured phase. A mutation over graphql-ws is one
 * subscribe → next → complete on an open socket: no request, no token check.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { httpData, wsConnect, type WsConnection } from '../../test/support/clients.js';

export type Mutate = <T, V>(document: TypedDocumentNode<T, V>, variables: V, token: string) => Promise<T>;

export interface Mutations {
  mutate: Mutate;
  /** Opens the sockets of these senders (over ws; nothing over HTTP). Senders opened before are kept. */
  open(tokens: string[]): Promise<void>;
  close(): Promise<void>;
}

export function httpMutations(url: string): Mutations {
  return { mutate: (document, variables, token) => httpData(url, document, variables, token), open: async () => {}, close: async () => {} };
}

interface Pool {
  connections: WsConnection[];
  next: number;
}

const printed = new WeakMap<DocumentNode, string>();
function queryOf(document: DocumentNode): string {
  let query = printed.get(document);
  if (query === undefined) printed.set(document, (query = print(document)));
  return query;
}

function execute<T>(connection: WsConnection, query: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let data: T | null = null;
    connection.client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length || !result.data) reject(new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`));
          else data = result.data;
        },
        error: (error) => reject(error instanceof Error ? error : new Error(`graphql-ws error: ${JSON.stringify(error)}`)),
        complete: () => (data === null ? reject(new Error('completed without data')) : resolve(data)),
      },
    );
  });
}

/**
 * At least `sockets` connections in all, spread over the senders: one sender
 * (the admin) gets them all, two get half each, `sockets` or more get one
 * each. Each sender's mutations go round-robin over its own connections.
 */
export function wsMutations(url: string, sockets: number): Mutations {
  const pools = new Map<string, Pool>();
  return {
    async open(tokens) {
      const fresh = [...new Set(tokens)].filter((token) => !pools.has(token));
      const perSender = Math.max(1, Math.ceil(sockets / fresh.length));
      for (const token of fresh) {
        const connections = Array.from({ length: perSender }, () => wsConnect(url, { authorization: `Bearer ${token}` }));
        pools.set(token, { connections, next: 0 });
        await Promise.all(connections.map((connection) => connection.connected));
      }
    },
    mutate<T, V>(document: TypedDocumentNode<T, V>, variables: V, token: string) {
      const pool = pools.get(token);
      if (!pool) return Promise.reject(new Error('no graphql-ws connection of this sender: open() it first'));
      const connection = pool.connections[pool.next++ % pool.connections.length]!;
      return execute<T>(connection, queryOf(document), (variables ?? {}) as Record<string, unknown>);
    },
    async close() {
      await Promise.all([...pools.values()].flatMap((pool) => pool.connections.map((connection) => connection.dispose())));
      pools.clear();
    },
  };
}
