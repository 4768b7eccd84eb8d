import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from '../basics/async-iteration.js';

/**
 * Ends a subscription stream (SSE, multipart) when its HTTP client goes away.
 *
 * Yoga returns a stream's iterator only when the response body it already
 * started sending is cancelled. A client that disconnects while the
 * subscription is still being set up (token check, slot, PubSub subscribe)
 * aborts the request first; the server adapter then drops the late Response
 * unread, and the iterator, with its PubSub subscription, presence hold and
 * connection slot, would live forever. So the request's abort signal returns
 * the iterator too; a second return() (Yoga's own cancel) does nothing.
 *
 * Must come after every plugin that wraps stream results, so that the
 * return() passes through all of them.
 */
export function useEndStreamsOfAbortedRequests(): Plugin {
  return {
    onSubscribe({ args }) {
      const signal = (args.contextValue as { request?: { signal?: unknown } }).request?.signal;
      // graphql-ws operations have no fetch Request; their sockets end their streams.
      if (!isAbortSignal(signal)) return;
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          // A subscription's stream is its own iterator (graphql-js and envelop return one).
          const stream = result as Partial<AsyncIterator<unknown>>;
          const end = () => void Promise.resolve(stream.return?.()).catch(() => {});
          if (signal.aborted) end();
          else signal.addEventListener('abort', end, { once: true });
        },
      };
    },
  };
}

/** The server adapter may use its own AbortSignal implementation, so no instanceof. */
function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && 'aborted' in value && typeof (value as { addEventListener?: unknown }).addEventListener === 'function';
}
