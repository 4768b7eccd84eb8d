import {
  CloseCode,
  DEPRECATED_GRAPHQL_WS_PROTOCOL,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  MessageType,
  parseMessage,
  type ErrorMessage,
  type WebSocket as GraphqlWsSocket,
} from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { unauthenticated } from '../errors.js';

/**
 * The legacy protocol of subscriptions-transport-ws (Apollo's `WebSocketLink`,
 * many mobile apps): its subprotocol is `graphql-ws`, which graphql-ws names
 * deprecated. Its sockets are served by the same graphql-ws server as
 * graphql-transport-ws ones, through legacyTransport(): every hook, limit and
 * close code is the same code.
 */
export const LEGACY_PROTOCOL = DEPRECATED_GRAPHQL_WS_PROTOCOL;

/** `handleProtocols` of the WebSocket server: graphql-transport-ws whenever offered, else the legacy protocol, else none (4406). */
export function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has(GRAPHQL_TRANSPORT_WS_PROTOCOL)) return GRAPHQL_TRANSPORT_WS_PROTOCOL;
  if (offered.has(LEGACY_PROTOCOL)) return LEGACY_PROTOCOL;
  return false;
}

/** The message type an operation's result travels in on `socket`: `next`, or the legacy protocol's `data`. */
export function resultMessageType(socket: WebSocket): 'next' | 'data' {
  return socket.protocol === LEGACY_PROTOCOL ? 'data' : 'next';
}

const KEEP_ALIVE = '{"type":"ka"}';
const CONNECTION_ACK = '{"type":"connection_ack"}';
/** A 4403 at connection_init is always a token refused (acceptConnection). */
const CONNECTION_ERROR = JSON.stringify({ type: 'connection_error', payload: unauthenticated().toJSON() });

/**
 * graphql-ws writes `{"id":…,"type":"next","payload":…}` (stringifyMessage, keys
 * in that order): a result becomes `data` by rewriting its head, never by
 * parsing its payload. Anything else is parsed (rare, small).
 */
const NEXT_HEAD = /^(\{"id":"(?:[^"\\]|\\.)*","type":)"next",/;

type Outgoing = { send: string } | { acknowledged: true } | null;

/** A graphql-ws server message as the legacy protocol says it; null for one it has no word for (pong). */
function toLegacy(data: string): Outgoing {
  const rewritten = data.replace(NEXT_HEAD, '$1"data",');
  if (rewritten !== data) return { send: rewritten };
  const message = parseMessage(data);
  switch (message.type) {
    case MessageType.ConnectionAck:
      return { acknowledged: true };
    case MessageType.Next:
      return { send: JSON.stringify({ id: message.id, type: 'data', payload: message.payload }) };
    case MessageType.Error:
      return { send: legacyError(message) };
    case MessageType.Complete:
      return { send: data };
    default:
      return null;
  }
}

/**
 * The protocol's `error` payload is one error object (Apollo Kotlin and iOS read
 * it as a map); subscriptions-transport-ws' client reads `payload.errors` first.
 * So: the first error, with all of them under `errors`.
 */
function legacyError(message: ErrorMessage): string {
  return JSON.stringify({ id: message.id, type: 'error', payload: { ...message.payload[0], errors: message.payload } });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

type Incoming = { type: 'connection_init' | 'subscribe' | 'complete'; text: string } | 'terminate' | null;

/**
 * A legacy client message as graphql-ws's: `start` is `subscribe`, `stop` is
 * `complete`; graphql-ws validates the rest (ids, payloads) as its own. Null
 * for anything else, server messages included (4400, as graphql-ws).
 */
function fromLegacy(text: string): Incoming {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(message)) return null;
  try {
    switch (message['type']) {
      case 'connection_init':
        return { type: 'connection_init', text };
      case 'start':
        return { type: 'subscribe', text: JSON.stringify({ id: message['id'], type: MessageType.Subscribe, payload: message['payload'] }) };
      case 'stop':
        return { type: 'complete', text: JSON.stringify({ id: message['id'], type: MessageType.Complete }) };
      case 'connection_terminate':
        return 'terminate';
      default:
        return null;
    }
  } catch {
    // Too deeply nested to write back.
    return null;
  }
}

export interface LegacyTransportOptions {
  /**
   * These clients send `start` right after `connection_init` (or even before it,
   * while an async connectionParams resolves) without waiting for
   * `connection_ack`; up to this many messages wait for it, later ones go on
   * and are refused as graphql-ws refuses a subscribe before the ack (4401).
   */
  maxEarlyMessages: number;
  /** Once `connection_ack` and the first `ka` went out: the socket's periodic `ka` starts. */
  onAcknowledged(): void;
}

/**
 * The legacy protocol over `base` (a socket as graphql-ws's makeServer takes
 * it), seen by makeServer as graphql-transport-ws: client messages are
 * translated on the way in, server messages on the way out, and a token
 * refused at connection_init (graphql-ws's 4403) is told first in a
 * `connection_error`.
 */
export function legacyTransport(base: GraphqlWsSocket, options: LegacyTransportOptions): GraphqlWsSocket {
  let acknowledged = false;
  let settle!: (acknowledged: boolean) => void;
  const settled = new Promise<boolean>((resolve) => (settle = resolve));
  let waiting = 0;

  async function waitForAck(): Promise<boolean> {
    if (acknowledged || waiting >= options.maxEarlyMessages) return true;
    waiting += 1;
    try {
      return await settled;
    } finally {
      waiting -= 1;
    }
  }

  return {
    protocol: GRAPHQL_TRANSPORT_WS_PROTOCOL,
    async send(data) {
      const outgoing = toLegacy(data);
      if (!outgoing) return;
      if ('send' in outgoing) return base.send(outgoing.send);
      // Both frames are queued before anything waiting for the ack runs.
      const sent = Promise.all([base.send(CONNECTION_ACK), base.send(KEEP_ALIVE)]);
      acknowledged = true;
      options.onAcknowledged();
      settle(true);
      await sent;
    },
    close(code, reason) {
      // base.send writes nothing once the socket is closing (e.g. a 4429 of acceptConnection came first).
      if (!acknowledged && code === CloseCode.Forbidden) void base.send(CONNECTION_ERROR);
      settle(false);
      return base.close(code, reason);
    },
    onMessage(cb) {
      base.onMessage(async (text) => {
        const message = fromLegacy(text);
        if (message === 'terminate') return base.close(1000, 'Normal Closure');
        if (!message) return base.close(CloseCode.BadRequest, 'Invalid message received');
        // Messages that waited resume in the order they came, before any that arrives later.
        if (message.type !== 'connection_init' && !(await waitForAck())) return;
        await cb(message.text);
      });
    },
  };
}

/**
 * `ka` every `intervalMs` to each acknowledged legacy socket of `wsServer`, as
 * these clients expect (they close a connection whose `ka` stops). One timer
 * for the whole server, as keepAlive() has; it stops when `wsServer` closes.
 * Returns the function that enrols an acknowledged socket.
 */
export function legacyKeepAlive(wsServer: WebSocketServer, intervalMs: number): (socket: WebSocket) => void {
  const acknowledged = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (acknowledged.has(socket) && socket.readyState === socket.OPEN) socket.send(KEEP_ALIVE);
    }
  }, intervalMs);
  timer.unref();
  wsServer.once('close', () => clearInterval(timer));
  return (socket) => acknowledged.add(socket);
}
