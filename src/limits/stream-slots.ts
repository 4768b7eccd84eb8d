import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from '../delivery/async-iteration.js';
import type { Context } from '../context.js';
import { overHttp } from '../context.js';
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
      const viewer = (args.contextValue as Context).viewer;
      if (!viewer || !overHttp(args.contextValue)) return;
      const release = await slots.take(viewer.id);
      if (!release) {
        setResultAndStopExecution({ errors: [tooManyConnections(max)] });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(withEnd(result, release));
          else release();
        },
        onSubscribeError: release,
      };
    },
  };
}
