import type { IncomingMessage } from 'node:http';
import { CloseCode, type Server, type WebSocket as GraphqlWsSocket } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../observability/log.js';
import { LEGACY_PROTOCOL, legacyKeepAlive, legacyTransport } from './legacy-protocol.js';
import { withEmptyQuery } from './trusted-documents.js';
import { isServerMessage, logSocketErrors } from './ws-session.js';

/** What graphql-ws's use/ws puts in a connection's `extra`; acceptConnection drops `request`. */
export interface SocketExtra {
  socket: WebSocket;
  request?: IncomingMessage;
}

export interface WsBindingOptions {
  /** How often a legacy socket gets `ka` (WS_PING_INTERVAL_MS). */
  legacyKeepAliveMs: number;
  /** TRUSTED_DOCUMENTS is set: a subscribe may name its document by id and send no `query`. */
  allowMissingQuery: boolean;
  /** See LegacyTransportOptions. */
  maxEarlyMessages: number;
  log: Logger;
}

/**
 * graphql-ws's `useServer` (use/ws) for both subprotocols of `/graphql`: each
 * socket of `wsServer` is opened on `server`, a graphql-transport-ws one as it
 * is, a legacy one through legacyTransport(). use/ws itself cannot be given
 * legacy sockets: it closes them with 4406. As use/ws: `extra` is `{ socket,
 * request }`, the socket's close ends the session (onClose), a message whose
 * handling throws closes the socket with 4500. Unlike it: no pinger of its own
 * (keepAlive() pings every socket), and errors are log lines instead of
 * console.error.
 */
export function bindWebSockets(wsServer: WebSocketServer, server: Server<SocketExtra>, options: WsBindingOptions): void {
  const { log } = options;
  // Errors of the HTTP server reach here too (ws re-emits them); without a listener they would throw.
  wsServer.on('error', (error) => {
    log.error({ err: error }, 'websocket server error');
    for (const client of wsServer.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  const sendKeepAlives = legacyKeepAlive(wsServer, options.legacyKeepAliveMs);
  wsServer.on('connection', (socket, request) => {
    logSocketErrors(socket, log);
    const transport = socketTransport(socket, log);
    const spoken = checkedTransport(
      socket.protocol === LEGACY_PROTOCOL
        ? legacyTransport(transport, { maxEarlyMessages: options.maxEarlyMessages, onAcknowledged: () => sendKeepAlives(socket) })
        : transport,
      options.allowMissingQuery,
    );
    const closed = server.opened(spoken, { socket, request });
    socket.once('close', (code, reason) => {
      closed(code, String(reason)).catch((error: unknown) => log.error({ err: error }, 'websocket close handling failed'));
    });
  });
}

/**
 * Every socket's messages (a legacy one's once translated) before graphql-ws
 * reads them: a client sending a server's message type gets 4400, not
 * graphql-ws's 4500; with TRUSTED_DOCUMENTS a `subscribe` may leave out `query`.
 */
function checkedTransport(base: GraphqlWsSocket, allowMissingQuery: boolean): GraphqlWsSocket {
  return {
    ...base,
    onMessage(cb) {
      base.onMessage(async (text) => {
        if (isServerMessage(text)) return base.close(CloseCode.BadRequest, 'Invalid message received');
        await cb(allowMissingQuery ? withEmptyQuery(text) : text);
      });
    },
  };
}

/** A `ws` socket as graphql-ws's makeServer takes it (what use/ws builds). */
function socketTransport(socket: WebSocket, log: Logger): GraphqlWsSocket {
  return {
    protocol: socket.protocol,
    send: (data) =>
      new Promise<void>((resolve, reject) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, (error) => (error ? reject(error) : resolve()));
      }),
    close: (code, reason) => socket.close(code, reason),
    onMessage(cb) {
      socket.on('message', async (data) => {
        try {
          await cb(String(data));
        } catch (error) {
          log.error({ err: error }, 'websocket message handling failed');
          socket.close(CloseCode.InternalServerError, 'Internal server error');
        }
      });
    },
  };
}
