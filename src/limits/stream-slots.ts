import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import type { ConnectionSlots } from './connection-slots.js';

export function tooManyConnections(max: number): GraphQLError {
  return new GraphQLError(`At most ${max} connections may be open at once per user; close one first`, {
    extensions: { code: 'RATE_LIMITED', retryAfterMs: RETRY_HINT_MS, limit: max },
  });
}

/** A slot frees only when the user closes something; a hint for clients that back off on RATE_LIMITED. */
const RETRY_HINT_MS = 1000;

/**
 * An SSE stream is an open connection too: it takes one of its user's slots
 * for as long as it runs, and beyond the cap it is answered RATE_LIMITED.
 * graphql-ws operations run through the same envelop, but their `request` is
 * the WebSocket upgrade (no fetch Headers); the connection took its slot at
 * connection_init (server.ts).
 */
export function useStreamSlots(slots: ConnectionSlots, max: number): Plugin<Context> {
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Context & { request?: unknown };
      const viewer = context.viewer;
      if (!viewer || !isFetchRequest(context.request)) return;
      const release = await slots.take(viewer.id);
      if (!release) {
        setResultAndStopExecution({ errors: [tooManyConnections(max)] });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(releasingOnEnd(result, release));
          else release();
        },
        onSubscribeError: release,
      };
    },
  };
}

function isFetchRequest(request: unknown): boolean {
  const headers = (request as { headers?: { get?: unknown } } | undefined)?.headers;
  return typeof headers?.get === 'function';
}

function isAsyncIterable<T>(value: T | AsyncIterable<T>): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Releases however the stream ends: completion, an error, or the client leaving (return). */
function releasingOnEnd(source: AsyncIterable<ExecutionResult>, release: () => void): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) release();
        return result;
      } catch (error) {
        release();
        throw error;
      }
    },
    async return() {
      release();
      return (await iterator.return?.()) ?? { done: true, value: undefined };
    },
    async throw(error: unknown) {
      release();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
