/**
 * How bench/fanout.ts sends its mutations: one HTTP POST each, or over
 * graphql-ws connections of each sending user (`--mutations-over ws`),
 * opened before the measured phase. A mutation over graphql-ws is one
 * subscribe → next → complete on an open socket: no request, no token check.
 *
 * Over HTTP the server receives what test/support/clients.ts's httpData
 * sends (POST /graphql, `{"query":…,"variables":…}` with the printed
 * document, the same content-type, accept and authorization headers), but
 * through node:http with a keep-alive Agent (bench/fanout.ts caps its
 * connections with --http-sockets; fetch's has no cap) and with each document
 * printed and JSON-quoted once: fetch's per-request machinery and graphql's
 * print() cost the sender about three times the CPU, on a machine whose
 * cores it shares with the server and PostgreSQL.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { httpRequest, wsConnect, type GraphQLErrorShape, type WsConnection } from '../../test/support/clients.js';

export type Mutate = <T, V>(document: TypedDocumentNode<T, V>, variables: V, token: string) => Promise<T>;

/** What the HTTP sender did since the last takeStats(): connections it opened, and how long (ms) each took to connect. */
export interface SenderStats {
  connectionsOpened: number;
  connectMs: number[];
}

export interface Mutations {
  mutate: Mutate;
  /** Over node:http: the connections opened since the last call; null where not counted (graphql-ws, fetch). */
  takeStats(): SenderStats | null;
  /** Opens the sockets of these senders (over ws; nothing over HTTP). Senders opened before are kept. */
  open(tokens: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A refused or failed mutation; `kind` groups failures of the same cause (the code and message of a GraphQL error, an HTTP status, a socket error). */
export class MutationError extends Error {
  constructor(
    readonly kind: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** The group a failure is counted in: the first GraphQL error's code and message, or the error's own name. */
export function failureKind(error: unknown): string {
  if (error instanceof MutationError) return error.kind;
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const own = typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`;
    // fetch's "fetch failed" names its cause (the socket's error) only there.
    return error.cause === undefined ? own : `${own}, caused by ${failureKind(error.cause)}`;
  }
  return `not an Error: ${JSON.stringify(error)}`;
}

function graphqlErrors(errors: readonly GraphQLErrorShape[] | undefined | null): MutationError {
  const first = errors?.[0];
  const code = first?.extensions?.['code'];
  const kind = first ? `${typeof code === 'string' ? code : 'no code'}: ${first.message}` : 'no data and no errors';
  return new MutationError(kind, `GraphQL errors: ${JSON.stringify(errors)}`);
}

const printed = new WeakMap<DocumentNode, string>();
function queryOf(document: DocumentNode): string {
  let query = printed.get(document);
  if (query === undefined) printed.set(document, (query = print(document)));
  return query;
}

/** `{"query":"<printed document>","variables":` — what JSON.stringify({ query, variables }) starts with. */
const bodyStarts = new WeakMap<DocumentNode, string>();
function bodyOf(document: DocumentNode, variables: unknown): string {
  if (variables === undefined) return JSON.stringify({ query: queryOf(document) });
  let start = bodyStarts.get(document);
  if (start === undefined) bodyStarts.set(document, (start = `{"query":${JSON.stringify(queryOf(document))},"variables":`));
  return `${start}${JSON.stringify(variables)}}`;
}

interface Answer<T> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

/**
 * `maxSockets` (default: no limit, as many connections as mutations in flight, as fetch opens them) caps the
 * connections: mutations beyond it wait in the Agent for a free one, and their time there counts in their latency.
 */
export function httpMutations(url: string, maxSockets = Infinity): Mutations {
  const target = new URL(url);
  // Idle connections stay open for the next mutations (the server closes them after its keep-alive timeout), as fetch keeps them.
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const known = new WeakSet<Socket>();
  let stats: SenderStats = { connectionsOpened: 0, connectMs: [] };
  const headersByToken = new Map<string, Record<string, string>>();
  const headersOf = (token: string) => {
    let headers = headersByToken.get(token);
    if (headers === undefined) {
      headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` };
      headersByToken.set(token, headers);
    }
    return headers;
  };
  const post = <T>(body: string, token: string, retried = false): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { ...headersOf(token), 'content-length': String(Buffer.byteLength(body)) },
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(error));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let answer: Answer<T>;
            try {
              answer = JSON.parse(text) as Answer<T>;
            } catch {
              reject(new MutationError(`HTTP ${response.statusCode}, not JSON`, `HTTP ${response.statusCode}: ${text.slice(0, 300)}`));
              return;
            }
            if (answer.errors?.length || !answer.data) reject(graphqlErrors(answer.errors));
            else resolve(answer.data);
          });
        },
      );
      const asked = performance.now();
      req.on('socket', (socket: Socket) => {
        if (known.has(socket)) return;
        known.add(socket);
        stats.connectionsOpened += 1;
        socket.once('connect', () => stats.connectMs.push(performance.now() - asked));
      });
      req.on('error', (error: Error & { code?: string }) => {
        // The server closed an idle keep-alive socket as this request went out on it: the request never reached it (Node's documented retry).
        if (!retried && req.reusedSocket && error.code === 'ECONNRESET') resolve(post<T>(body, token, true));
        else reject(new MutationError(`${error.code ?? error.name}: ${error.message} (on a ${req.reusedSocket ? 'reused' : 'new'} connection)`, String(error)));
      });
      req.end(body);
    });
  return {
    mutate: <T, V>(document: TypedDocumentNode<T, V>, variables: V, token: string) => post<T>(bodyOf(document, variables), token),
    takeStats() {
      const taken = stats;
      stats = { connectionsOpened: 0, connectMs: [] };
      return taken;
    },
    open: async () => {},
    close: async () => agent.destroy(),
  };
}

interface Pool {
  connections: WsConnection[];
  next: number;
}

function execute<T>(connection: WsConnection, query: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let data: T | null = null;
    connection.client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length || !result.data) reject(graphqlErrors(result.errors as GraphQLErrorShape[] | undefined));
          else data = result.data;
        },
        error: (error) => reject(error instanceof Error ? error : new MutationError('graphql-ws error', `graphql-ws error: ${JSON.stringify(error)}`)),
        complete: () => (data === null ? reject(new MutationError('completed without data', 'completed without data')) : resolve(data)),
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
    takeStats: () => null,
    async close() {
      await Promise.all([...pools.values()].flatMap((pool) => pool.connections.map((connection) => connection.dispose())));
      pools.clear();
    },
  };
}

/** The old sender, for comparison (--http-sender fetch): test/support/clients.ts's httpData, one fetch and one print() per mutation. */
export function fetchMutations(url: string): Mutations {
  return {
    mutate: async (document, variables, token) => {
      const result = await httpRequest(url, document, variables, token);
      if (result.errors?.length || !result.data) throw graphqlErrors(result.errors);
      return result.data;
    },
    takeStats: () => null,
    open: async () => {},
    close: async () => {},
  };
}
