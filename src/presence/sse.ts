import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import type { Presence } from './index.js';

/**
 * Counts open SSE streams (any subscription answered over HTTP) towards
 * presence. graphql-ws operations run through the same envelop, but their
 * `request` is the WebSocket upgrade (a Node IncomingMessage, not a fetch
 * Request); the connection itself is counted in server.ts.
 */
export function usePresenceOfStreams(presence: Presence): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as Context & { request?: unknown };
      const viewer = context.viewer;
      if (!viewer || !isFetchRequest(context.request)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(releasingOnEnd(result, presence.hold(viewer.id)));
        },
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
