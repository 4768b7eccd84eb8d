import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { makeServer, type Context as WsContext, type ServerOptions, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ViewerFromToken } from '../auth/viewer-from-token.js';
import { tokenFromAuthorization, TokenError } from '../auth/verify.js';
import type { Viewer } from '../auth/viewer.js';
import type { Config } from '../config.js';
import type { PersistedDocuments } from '../basics/persisted-documents.js';
import { isAsyncIterable } from '../basics/async-iteration.js';
import { isSlowConsumer, WS_CLOSE } from '../errors.js';
import type { ConnectionSlots } from '../limits/connection-slots.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Presence } from '../presence/index.js';
import { schema } from '../schema/index.js';
import type { GraphQLHandler } from './graphql-handler.js';
import { keepAlive } from './keep-alive.js';
import { chooseSubprotocol, resultMessageType } from './legacy-protocol.js';
import { withTrustedDocument } from './trusted-documents.js';
import { bindWebSockets, type SocketExtra } from './ws-binding.js';
import { armExpiry, tokenRefresh, tooManyOperations, TOO_MANY_CONNECTIONS } from './ws-session.js';

export interface GraphqlWsOptions {
  config: Config;
  handler: GraphQLHandler;
  viewerFromToken: ViewerFromToken;
  connectionSlots: ConnectionSlots;
  presence: Presence;
  metrics: Metrics;
  log: Logger;
}

type WsExtra = {
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
  /** Ends this connection's share in its user's presence. */
  releasePresence?: () => void;
  /** Gives back this connection's slot of its user's MAX_CONNECTIONS_PER_USER. */
  releaseSlot?: () => void;
  /** Where the client reached the API (scheme and Host of the upgrade): attachment URLs start with it. */
  origin?: string;
  /** Set once acknowledged; names the connection in logs. */
  connectionId?: string;
  openedAt?: number;
};

type WsServerContext = WsContext<Record<string, unknown> | undefined, WsExtra & SocketExtra>;

/** Yoga's enveloped execute/subscribe travel to graphql-ws as the root value of each operation. */
type Enveloped = { execute: NonNullable<ServerOptions['execute']>; subscribe: NonNullable<ServerOptions['subscribe']> };

/**
 * graphql-ws on `/graphql` of `httpServer`, for graphql-transport-ws and the
 * legacy protocol (legacy-protocol.ts) alike: each connection is authenticated
 * at `connection_init` (a slot of its user's cap, presence, token expiry),
 * and each operation runs through the same Yoga instance as HTTP.
 */
export function attachGraphqlWs(httpServer: Server, options: GraphqlWsOptions): WebSocketServer {
  const { config, handler, viewerFromToken, metrics, log } = options;
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: config.limits.wsMaxPayloadBytes,
    handleProtocols: chooseSubprotocol,
  });
  keepAlive(wsServer, config.wsPingIntervalMs);
  const server = makeServer<Record<string, unknown> | undefined, WsExtra & SocketExtra>(
    {
      schema,
      connectionInitWaitTimeout: config.limits.wsInitTimeoutMs,
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: async (args: ExecutionArgs) => {
        const result = await (args.rootValue as Enveloped).subscribe(args);
        if (isAsyncIterable(result) || !result.errors?.length) return result;
        // A subscription refused at its start (NOT_FOUND, BAD_USER_INPUT, ...) is a
        // graphql-ws `error` message for that id, as the contract says, not next+complete.
        return failedStream(result.errors[0]!);
      },
      onConnect: (ctx) => acceptConnection(ctx, options),
      onError: (ctx, _id, _payload, errors) => {
        // graphql-ws re-wraps what a stream throws; the original says whether it was ours.
        if (errors.some((error) => isSlowConsumer(error) || isSlowConsumer(error.originalError))) {
          ctx.extra.socket.close(WS_CLOSE.slowConsumer.code, WS_CLOSE.slowConsumer.reason);
        }
      },
      onClose: (ctx, code) => {
        clearTimeout(ctx.extra.expiryTimer);
        ctx.extra.releaseSlot?.();
        ctx.extra.releasePresence?.();
        if (ctx.acknowledged) metrics.connections.dec({ transport: 'ws' });
        metrics.closes.inc({ code: String(code ?? 0) });
        if (ctx.extra.connectionId) {
          const durationMs = Date.now() - (ctx.extra.openedAt ?? Date.now());
          log.info({ connectionId: ctx.extra.connectionId, userId: ctx.extra.viewer?.id, code, durationMs, transport: 'ws' }, 'connection closed');
        } else {
          log.debug({ code }, 'connection refused before acknowledgement');
        }
      },
      onPing: tokenRefresh(async (jwt) => (await viewerFromToken(jwt))!, log),
      onSubscribe: (ctx, id, params) => prepareOperation(ctx, id, params, handler, config.limits.subscriptionsPerConnection, config.trustedDocuments),
    },
  );
  bindWebSockets(wsServer, server, {
    legacyKeepAliveMs: config.wsPingIntervalMs,
    allowMissingQuery: config.trustedDocuments !== null,
    maxEarlyMessages: config.limits.subscriptionsPerConnection,
    log,
  });
  return wsServer;
}

/** connection_init: true acknowledges; false closes with 4403 (graphql-ws), unless a close of ours came first. */
async function acceptConnection(ctx: WsServerContext, { viewerFromToken, connectionSlots, presence, metrics, log }: GraphqlWsOptions): Promise<boolean> {
  ctx.extra.origin = originOf(ctx.extra.request);
  // The upgrade request (its headers and buffers, about 1.5 KB) is not read after this point, and
  // graphql-ws would keep it for as long as the connection lives.
  Reflect.deleteProperty(ctx.extra, 'request');
  const payload = ctx.connectionParams ?? {};
  const token = tokenFromAuthorization(payload['authorization'] ?? payload['Authorization'] ?? payload['token']);
  let viewer: Viewer | null;
  try {
    viewer = await viewerFromToken(token);
  } catch (error) {
    if (!(error instanceof TokenError)) log.error({ err: error }, 'connection_init failed');
    return false;
  }
  if (!viewer) return false;
  const socket = ctx.extra.socket;
  const releaseSlot = await connectionSlots.take(viewer.id);
  if (!releaseSlot) {
    // Closed first with 4429; graphql-ws's own 4403 for `false` then finds the socket closing.
    socket.close(TOO_MANY_CONNECTIONS.code, TOO_MANY_CONNECTIONS.reason);
    return false;
  }
  ctx.extra.releaseSlot = releaseSlot;
  ctx.extra.viewer = viewer;
  armExpiry(ctx.extra);
  // A socket that closed while we verified the token has had its onClose already.
  if (socket.readyState !== socket.CLOSED) ctx.extra.releasePresence = presence.hold(viewer.id);
  // Likewise the slot and the expiry timer.
  if (socket.readyState === socket.CLOSED) {
    clearTimeout(ctx.extra.expiryTimer);
    releaseSlot();
    return false;
  }
  metrics.connections.inc({ transport: 'ws' });
  ctx.extra.connectionId = randomUUID();
  ctx.extra.openedAt = Date.now();
  log.info({ connectionId: ctx.extra.connectionId, userId: viewer.id, transport: 'ws', protocol: socket.protocol }, 'connection opened');
  return true;
}

/** subscribe: the operation's arguments, run through Yoga's envelop, or the errors that refuse it (an `error` message). */
async function prepareOperation(
  ctx: WsServerContext,
  id: string,
  sent: SubscribePayload,
  handler: GraphQLHandler,
  maxOperations: number,
  trustedDocuments: PersistedDocuments | null,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const refused = tooManyOperations(ctx, maxOperations);
  if (refused) return refused;
  // With TRUSTED_DOCUMENTS: a document id becomes its text before anything parses it; text is refused.
  const params = withTrustedDocument(sent, trustedDocuments);
  if (params instanceof GraphQLError) return [params];
  const enveloped = handler.getEnveloped({
    viewer: ctx.extra.viewer ?? null,
    requestId: `${ctx.extra.connectionId ?? 'unacknowledged'}/${id}`,
    // No `request`: Yoga's HTTP plugins would read it as the operation's HTTP request, and the
    // upgrade is a GET, so every mutation over graphql-ws would be refused as "mutation via GET".
    params,
    wsOrigin: ctx.extra.origin,
    // A fan-out group writes this subscription's frames itself (fanout-groups.ts).
    wsTarget: { socket: ctx.extra.socket, id, resultType: resultMessageType(ctx.extra.socket) },
  } as unknown as Parameters<typeof handler.getEnveloped>[0]);
  let document;
  try {
    document = enveloped.parse(params.query);
  } catch (error) {
    // Yoga codes parse errors only for HTTP requests (it looks for `request`, see above): same code here.
    if (error instanceof GraphQLError) (error.extensions as Record<string, unknown>)['code'] ??= 'GRAPHQL_PARSE_FAILED';
    return [error as GraphQLError];
  }
  const args: ExecutionArgs = {
    schema: enveloped.schema,
    document,
    operationName: params.operationName ?? null,
    variableValues: params.variables ?? null,
    contextValue: await enveloped.contextFactory(),
    rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
  };
  const errors = enveloped.validate(args.schema, args.document);
  if (errors.length) return errors;
  return args;
}

/** As Yoga builds an HTTP request's URL: the Host header, over TLS or not. */
function originOf(request: IncomingMessage | undefined): string | undefined {
  const host = request?.headers.host;
  if (!host || !/^[\w.:[\]-]+$/.test(host)) return undefined;
  const secure = (request.socket as { encrypted?: boolean }).encrypted === true;
  return `${secure ? 'https' : 'http'}://${host}`;
}

async function* failedStream(error: GraphQLError): AsyncGenerator<never> {
  throw error;
}

/** Closes a connection because this process stops: clients reconnect elsewhere and resume. */
export function closeForShutdown(socket: WebSocket): void {
  socket.close(WS_CLOSE.shuttingDown.code, WS_CLOSE.shuttingDown.reason);
}
