import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred, within, type Deferred } from './deferred.js';

export interface GraphQLErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
  path?: readonly (string | number)[];
}

export interface Result<T> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

/** POSTs a typed document to /graphql. */
export async function httpRequest<T, V>(
  url: string,
  document: TypedDocumentNode<T, V>,
  variables: V | undefined,
  token: string | null,
): Promise<Result<T> & { status: number }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { ...((await response.json()) as Result<T>), status: response.status };
}

/** Returns data or throws with the errors: for calls a test expects to succeed. */
export async function httpData<T, V>(url: string, document: TypedDocumentNode<T, V>, variables: V | undefined, token: string | null): Promise<T> {
  const result = await httpRequest(url, document, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** The first error's code. */
export function errorCode(result: Result<unknown>): unknown {
  return result.errors?.[0]?.extensions?.['code'];
}

/**
 * A subscription under test: events queue up until taken; the error or the
 * completion of the stream is kept for assertions.
 */
export class Subscription<T> {
  private readonly queue: Result<T>[] = [];
  private waiter: Deferred<void> | null = null;
  readonly ended = deferred<{ error?: unknown }>();
  private isEnded = false;

  constructor(private readonly cancel: () => void) {}

  onResult(result: Result<T>): void {
    this.queue.push(result);
    this.waiter?.resolve();
  }

  onEnd(error?: unknown): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.ended.resolve(error === undefined ? {} : { error });
    this.waiter?.resolve();
  }

  /** The next event's data; fails on a GraphQL error result. */
  async next(ms = 10_000): Promise<T> {
    const result = await this.nextResult(ms);
    if (result.errors?.length || !result.data) throw new Error(`subscription errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  }

  async nextResult(ms = 10_000): Promise<Result<T>> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.isEnded) throw new Error(`subscription ended: ${JSON.stringify(await this.ended.promise, errorReplacer)}`);
      this.waiter = deferred();
      await within(this.waiter.promise, Math.max(1, deadline - Date.now()), 'a subscription event');
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  async take(count: number, ms = 10_000): Promise<T[]> {
    const items: T[] = [];
    for (let i = 0; i < count; i += 1) items.push(await this.next(ms));
    return items;
  }

  /** The events up to and including the first that `last` accepts; `ms` for each. */
  async takeUntil(last: (event: T) => boolean, ms = 10_000): Promise<T[]> {
    const items: T[] = [];
    for (;;) {
      const item = await this.next(ms);
      items.push(item);
      if (last(item)) return items;
    }
  }

  /** Events received and not taken yet. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.cancel();
  }
}

function errorReplacer(_key: string, value: unknown) {
  return value instanceof Error ? { message: value.message } : value;
}

export interface WsConnection {
  client: WsClient;
  subscribe<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Subscription<T>;
  /** Resolves with the close code once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  connected: Promise<void>;
  dispose(): Promise<void>;
}

/** A graphql-ws client that does not retry, so tests see every close. */
export function wsConnect(httpUrl: string, connectionParams: Record<string, unknown> | null): WsConnection {
  const closed = deferred<{ code: number; reason: string }>();
  const connected = deferred();
  const client = createWsClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? undefined,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: {
      connected: () => connected.resolve(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closed.resolve({ code, reason: String(reason) });
        connected.reject(new Error(`closed with ${code} before connecting`));
      },
    },
  });
  connected.promise.catch(() => {});
  return {
    client,
    closed: closed.promise,
    connected: connected.promise,
    subscribe<T, V>(document: TypedDocumentNode<T, V>, variables?: V) {
      let subscription!: Subscription<T>;
      const cancel = client.subscribe<T>(
        { query: print(document), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (result) => subscription.onResult(result as Result<T>),
          error: (error) => subscription.onEnd(error ?? new Error('error')),
          complete: () => subscription.onEnd(),
        },
      );
      subscription = new Subscription<T>(cancel);
      return subscription;
    },
    async dispose() {
      await client.dispose();
    },
  };
}

/**
 * SSE has no subscribe acknowledgement (over graphql-ws, a first result on the
 * same socket, such as the unread count's, shows that the subscriptions opened
 * before it are set up): give SSE subscriptions just opened 200 ms to reach
 * the server before writing the event they are to receive.
 */
export function giveSseTimeToSubscribe(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 200));
}

/** A graphql-sse client (distinct connections mode, as Yoga serves it). */
export function sseConnect(httpUrl: string, token: string | null) {
  const client = createSseClient({
    url: httpUrl,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  return {
    subscribe<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Subscription<T> {
      let subscription!: Subscription<T>;
      const cancel = client.subscribe<T>(
        { query: print(document), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (result: ExecutionResult<T>) => subscription.onResult(result as Result<T>),
          error: (error) => subscription.onEnd(error ?? new Error('error')),
          complete: () => subscription.onEnd(),
        },
      );
      subscription = new Subscription<T>(cancel);
      return subscription;
    },
    dispose: () => client.dispose(),
  };
}
