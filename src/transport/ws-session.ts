import type { GraphQLError } from 'graphql';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { tokenFromAuthorization, TokenError } from '../auth/verify.js';
import type { Viewer } from '../auth/viewer.js';
import { capReached } from '../errors.js';
import type { Logger } from '../observability/log.js';

/** What these guards need of a graphql-ws connection's `extra`. */
export interface SessionExtra {
  socket: WebSocket;
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
}

// setTimeout fires at once above 2^31-1 ms (~24.8 days); such tokens outlive any connection anyway.
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes the connection with 4401 when its viewer's token expires: one timer
 * per connection, re-armed when the token is refreshed, instead of a check
 * per message.
 */
export function armExpiry(extra: SessionExtra): void {
  clearTimeout(extra.expiryTimer);
  extra.expiryTimer = undefined;
  if (!extra.viewer) return;
  const msLeft = extra.viewer.expiresAt * 1000 - Date.now();
  if (msLeft >= LONGEST_TIMER_MS) return;
  const socket = extra.socket;
  extra.expiryTimer = setTimeout(() => socket.close(CloseCode.Unauthorized, 'Token expired'), Math.max(0, msLeft));
}

/** The token of a connection_init or ping payload: `{authorization: "Bearer <jwt>"}` or `{token: "<jwt>"}`. */
function payloadToken(payload: unknown): { present: boolean; token: string | null } {
  if (typeof payload !== 'object' || payload === null) return { present: false, token: null };
  const fields = payload as Record<string, unknown>;
  const raw = fields['authorization'] ?? fields['Authorization'] ?? fields['token'];
  return { present: raw !== undefined, token: tokenFromAuthorization(raw) };
}

/**
 * In-band token refresh: a graphql-ws `ping` whose payload carries a token.
 * A valid token of the same identity (subject, role and partner: what the
 * connection's running subscriptions were authorised for) moves the expiry
 * forward, and later operations see its claims (e.g. a new display name).
 * Anything else closes the connection with 4403: a client whose identity
 * changed reconnects and re-subscribes under the new one. The pong is sent
 * after the new expiry is in effect, so it confirms the refresh.
 */
export function tokenRefresh(verify: (token: string) => Promise<Viewer>, log: Logger) {
  return async (ctx: WsContext<Record<string, unknown> | undefined, SessionExtra>, payload: unknown): Promise<void> => {
    const { present, token } = payloadToken(payload);
    // A plain keep-alive ping, or one before connection_ack (there is no session to refresh yet).
    if (!present || !ctx.acknowledged || !ctx.extra.viewer) return;
    const socket = ctx.extra.socket;
    let next: Viewer;
    try {
      if (token === null) throw new TokenError('no token in the ping payload');
      next = await verify(token);
    } catch (error) {
      if (!(error instanceof TokenError)) log.error({ err: error }, 'token refresh failed');
      socket.close(CloseCode.Forbidden, 'Invalid token');
      return;
    }
    const current = ctx.extra.viewer;
    if (next.id !== current.id || next.role !== current.role || next.partnerId !== current.partnerId) {
      socket.close(CloseCode.Forbidden, 'A refreshed token must keep the same identity');
      return;
    }
    // The old token stays valid until its own exp, so a refresh never shortens the session.
    ctx.extra.viewer = { ...next, expiresAt: Math.max(next.expiresAt, current.expiresAt) };
    armExpiry(ctx.extra);
  };
}

/**
 * Refuses an operation beyond `max` running at once on one connection, as a
 * graphql-ws `error` message for that id: the connection stays open.
 * `ctx.subscriptions` already holds the id being subscribed.
 */
export function tooManyOperations(ctx: WsContext<Record<string, unknown> | undefined, SessionExtra>, max: number): GraphQLError[] | null {
  if (Object.keys(ctx.subscriptions).length <= max) return null;
  return [capReached(`At most ${max} subscriptions may run at once on one connection; complete one first`, max)];
}

export const TOO_MANY_CONNECTIONS = { code: CloseCode.TooManyInitialisationRequests, reason: 'Too many open connections for this user' };

/** Messages only a server sends; graphql-ws itself refuses them from a client, but as an internal error. */
const SERVER_MESSAGE_TYPES = new Set(['connection_ack', 'next', 'error']);
/** Cheap first look: only a message that mentions one of those names is parsed here. */
const MENTIONS_SERVER_TYPE = /"(?:connection_ack|next|error)"/;

/**
 * A well-formed `connection_ack`, `next` or `error` from a client: closed with
 * 4400 (malformed message, as CONTRACT.md lists it) before graphql-ws sees it,
 * instead of graphql-ws's 4500 and console.error (ws-binding.ts). Checked on
 * the text rather than with a JSON reviver: a reviver makes JSON.parse
 * recurse, and a deeply nested message would overflow the stack.
 */
export function isServerMessage(text: string): boolean {
  if (!MENTIONS_SERVER_TYPE.test(text)) return false;
  try {
    const message: unknown = JSON.parse(text);
    return typeof message === 'object' && message !== null && SERVER_MESSAGE_TYPES.has(String((message as { type?: unknown }).type));
  } catch {
    // Not JSON: graphql-ws answers that with 4400 itself.
    return false;
  }
}


/**
 * For the WebSocket server's `connection` event, after graphql-ws's own
 * handler: a socket error (a frame over the size limit, invalid UTF-8, a
 * reset) is logged as one line at debug level instead of graphql-ws's
 * console.error with a stack trace, which any client could make the server
 * print as often as it liked. ws has already chosen the close code (1009,
 * 1007, ...) and is closing the socket; graphql-ws's own close would do
 * nothing more. A listener stays on: an 'error' without one would throw.
 */
export function logSocketErrors(socket: WebSocket, log: Logger): void {
  socket.removeAllListeners('error');
  socket.on('error', (error: Error) => log.debug({ err: { message: error.message, code: (error as { code?: unknown }).code } }, 'websocket error'));
}
