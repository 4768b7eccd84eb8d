import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from '../basics/async-iteration.js';
import type { Context } from '../context.js';
import { overHttp } from '../context.js';
import { capReached } from '../errors.js';
import type { ConnectionSlots } from './connection-slots.js';

export function tooManyConnections(max: number): GraphQLError {
  return capReached(`At most ${max} connections may be open at once per user; close one first`, max);
}

/**
 * An SSE stream is an open connection too: it takes one of its user's slots
 * for as long as it runs, and beyond the cap it is answered RATE_LIMITED.
 * graphql-ws operations run through the same envelop, but their `request` is
 * the WebSocket upgrade (no fetch Headers); the connection took its slot at
 * connection_init (transport/graphql-ws.ts).
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
