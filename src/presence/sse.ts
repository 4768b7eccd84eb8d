import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from '../basics/async-iteration.js';
import type { Context } from '../context.js';
import { overHttp } from '../context.js';
import type { Presence } from './index.js';

/**
 * Counts open SSE streams (any subscription answered over HTTP) towards
 * presence. graphql-ws operations run through the same envelop, but their
 * `request` is the WebSocket upgrade (a Node IncomingMessage, not a fetch
 * Request); the connection itself is counted in transport/graphql-ws.ts.
 */
export function usePresenceOfStreams(presence: Presence): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const viewer = (args.contextValue as Context).viewer;
      if (!viewer || !overHttp(args.contextValue)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(withEnd(result, presence.hold(viewer.id)));
        },
      };
    },
  };
}
