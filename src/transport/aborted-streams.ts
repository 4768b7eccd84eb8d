import type { Plugin } from 'graphql-yoga';

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
          if (!isAsyncIterator(result)) return;
          const end = () => void Promise.resolve(result.return?.()).catch(() => {});
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

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && typeof (value as { next?: unknown }).next === 'function';
}
