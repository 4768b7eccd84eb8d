import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { createProvisioner } from './auth/provision.js';
import { createTokenVerifier, tokenFromAuthorization, TokenError } from './auth/verify.js';
import type { Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import type { Context, Services } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { migrate } from './db/migrate.js';
import { savePlatformFee } from './db/orders.js';
import { isSlowConsumer, isUnavailable, serviceUnavailable, unauthenticated } from './errors.js';
import { isAsyncIterable } from './delivery/async-iteration.js';
import { trackInFlight } from './transport/in-flight.js';
import { createLogger, type Logger } from './observability/log.js';
import { createMetrics } from './observability/metrics.js';
import { observeSubscriptions, useOperationMetrics } from './observability/metrics-plugin.js';
import { useErrorLog } from './observability/log-plugin.js';
import { useVariableErrorCodes } from './input/variable-errors.js';
import { useSharedExecution } from './delivery/shared-execution.js';
import { FanoutGroups } from './delivery/fanout-groups.js';
import { relayLag } from './db/outbox.js';
import { useWakeRelayAfterMutations } from './pubsub/wake-relay.js';
import { useDropScopeCacheOfStartedSubscriptions } from './auth/subscription-scope-cache.js';
import { useErrorMasking } from './delivery/error-masking.js';
import { createPubSub, type PubSub } from './pubsub/index.js';
import { catchUpFromOutbox } from './pubsub/catch-up.js';
import { createRelay, type Relay } from './pubsub/relay.js';
import { createPresence } from './presence/index.js';
import { usePresenceOfStreams } from './presence/sse.js';
import { createRateLimiter } from './limits/rate-limiter.js';
import { useReadinessCheck } from './transport/readiness-check.js';
import { createConnectionSlots } from './limits/connection-slots.js';
import { useOperationLimits } from './limits/operation-limits.js';
import { useRequestBodyLimit, type BodyLimitContext } from './limits/request-body.js';
import { useStreamSlots } from './limits/stream-slots.js';
import { useEndStreamsOfAbortedRequests } from './transport/aborted-streams.js';
import { corsPolicy, useCsrfPrevention } from './transport/browser-policy.js';
import { armExpiry, logSocketErrors, refuseServerMessages, tokenRefresh, tooManyOperations, TOO_MANY_CONNECTIONS } from './transport/ws-session.js';
import { useWellFormedInput } from './input/well-formed.js';
import { schema } from './schema/index.js';
import { createWebhookSender } from './webhook/sender.js';
import { withTimeout } from './basics/timeout.js';
import { answerWithYoga } from './transport/yoga-on-node.js';

export interface RealtimeServer {
  /** http://host:port/graphql, known after start(). */
  readonly url: string;
  readonly port: number;
  readonly database: DatabaseHandle;
  readonly pubsub: PubSub;
  readonly relay: Relay;
  readonly log: Logger;
  start(): Promise<void>;
  /** Stops accepting, closes sockets with 1001, publishes what is committed, releases the relay. */
  stop(): Promise<void>;
}

type WsExtra = {
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
  /** Ends this connection's share in its user's presence. */
  releasePresence?: () => void;
  /** Gives back this connection's slot of its user's MAX_CONNECTIONS_PER_USER. */
  releaseSlot?: () => void;
  /** Set once acknowledged; names the connection in logs. */
  connectionId?: string;
  openedAt?: number;
};

export async function createServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RealtimeServer> {
  const verifyToken = await createTokenVerifier(config.jwt);
  const database = await openDatabase(config);
  await migrate(database);
  await savePlatformFee(database.db, config.platformFeePercent);
  const metrics = createMetrics();
  const pubsub = createPubSub({
    redisUrl: config.redisUrl,
    prefix: config.pubsubPrefix,
    log,
    bufferLimit: config.subscriberBufferLimit,
    onEvent: (event) => {
      if (typeof event.createdAt === 'string') metrics.eventLag.observe((Date.now() - Date.parse(event.createdAt)) / 1000);
    },
  });
  await catchUpFromOutbox(pubsub, database.db, log);
  const relay = createRelay({
    database,
    pubsub,
    log,
    pollMs: config.relayPollMs,
    retentionHours: config.outboxRetentionHours,
    onPublished: (topic) => metrics.eventsPublished.inc({ topic }),
  });
  const rateLimiter = createRateLimiter({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix });
  const presence = createPresence({ config, db: database.db, pubsub, log });
  const connectionSlots = createConnectionSlots({
    max: config.limits.connectionsPerUser,
    redisUrl: config.redisUrl,
    prefix: config.pubsubPrefix,
    heartbeatMs: config.presence.heartbeatMs,
    ttlMs: config.presence.ttlMs,
    log,
  });
  const sharedExecutions = metrics.executions.labels({ shared: 'true' });
  const ownExecutions = metrics.executions.labels({ shared: 'false' });
  const services: Services = { config, db: database.db, pubsub, log, presence, rateLimiter };
  const provision = createProvisioner(database.db);
  const webhook = createWebhookSender({ config: config.webhook, db: database.db, presence, log, registry: metrics.registry });

  /** Errors of ours (coded GraphQL errors) pass; a backing service that is down is SERVICE_UNAVAILABLE; the rest is masked and logged. */
  function maskError(error: unknown): GraphQLError {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
    if (isUnavailable(original ?? error)) {
      log.warn({ err: original ?? error }, 'backing service unavailable');
      return serviceUnavailable();
    }
    log.error({ err: original ?? error }, 'internal error');
    return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  }
  const fanoutGroups = new FanoutGroups({
    maskError,
    bufferLimitBytes: config.subscriberBufferBytes,
    onDelivered: (field, members) => {
      ownExecutions.inc();
      if (members > 1) sharedExecutions.inc(members - 1);
      if (members > 0) metrics.deliveries.inc({ field }, members);
    },
  });

  async function viewerFromToken(token: string | null): Promise<Viewer | null> {
    if (token === null) return null;
    const viewer = await verifyToken(token);
    await provision(viewer);
    return viewer;
  }

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    cors: corsPolicy(config.cors),
    batching: { limit: config.limits.batchLimit },
    // Read and bounded before Yoga sees the request (readBody, useRequestBodyLimit): Yoga's own
    // limit pipes every body through a web stream, which cost more than the rest of a bare Yoga.
    maxRequestBodySize: false,
    // GraphiQL subscribes over SSE: the headers editor's Authorization travels with
    // each request, while over WS GraphiQL sends an empty connection_init (4403).
    graphiql: config.graphiql ? { subscriptionsProtocol: 'SSE', title: 'Realtime marketplace API' } : false,
    // The page carries GraphiQL itself instead of loading it from a CDN: it works offline too.
    renderGraphiQL,
    logging: { debug: (...a) => log.debug(a), info: (...a) => log.info(a), warn: (...a) => log.warn(a), error: (...a) => log.error(a) },
    // Masked by useErrorMasking and where events are executed (see error-masking.ts).
    maskedErrors: false,
    context: async (initial: YogaInitialContext & { viewer?: Viewer | null; requestId?: string }): Promise<Context> => {
      const requestId = initial.requestId ?? randomUUID();
      if (initial.viewer !== undefined) return { viewer: initial.viewer, services, requestId };
      const token = tokenFromAuthorization(initial.request.headers.get('authorization'));
      try {
        return { viewer: await viewerFromToken(token), services, requestId };
      } catch (error) {
        if (error instanceof TokenError) throw unauthenticated(error.message);
        throw error;
      }
    },
    plugins: [
      useCsrfPrevention(),
      useOperationLimits(config),
      // Before anything takes a slot or runs: NUL, lone surrogates or 5,000-deep JSON reached the database as internal errors.
      useWellFormedInput(),
      useStreamSlots(connectionSlots, config.limits.connectionsPerUser),
      usePresenceOfStreams(presence),
      useVariableErrorCodes(),
      useSharedExecution({
        enabled: config.sharedExecution,
        viewerKey: (context) => viewerKeyOf(context as Context),
        onExecution: (shared) => (shared ? sharedExecutions : ownExecutions).inc(),
        groups: fanoutGroups,
        maskError,
        observe: observeSubscriptions(metrics),
      }),
      useOperationMetrics(metrics),
      useWakeRelayAfterMutations(relay),
      useErrorLog(log),
      // After every plugin that wraps stream results (see the file).
      useEndStreamsOfAbortedRequests(),
      // Last, where Yoga's own masking would be: the plugins above see errors as they were.
      useErrorMasking(maskError),
      useDropScopeCacheOfStartedSubscriptions(),
      // After every plugin with an onRequestParse hook, where Yoga's own check ran.
      useRequestBodyLimit(config.limits.maxBodyBytes),
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          try {
            // A client waiting to reconnect queues commands instead of failing them: bound the wait.
            await withTimeout(Promise.all([database.ping(), pubsub.ping()]), READY_TIMEOUT_MS);
            return true;
          } catch {
            return false;
          }
        },
      }),
    ],
  });

  const inFlight = trackInFlight();
  const httpServer: HttpServer = createHttpServer(async (request, response) => {
    inFlight.track(request, response);
    if (request.url === '/metrics') {
      metrics.pubsubStreams.set(pubsub.activeSubscriptions());
      metrics.pubsubChannels.set(pubsub.activeChannels());
      metrics.relayLeader.set(relay.isLeader ? 1 : 0);
      metrics.relayLag.set(await relayLag(database.db, relay.isLeader ? relay.lastPublishedPosition : null).catch(() => -1));
      let buffered = 0;
      for (const socket of wsServer.clients) buffered += socket.bufferedAmount;
      metrics.outboundBufferBytes.set(buffered);
      response.setHeader('content-type', metrics.registry.contentType);
      response.end(await metrics.registry.metrics());
      return;
    }
    const requestId = validRequestId(request.headers['x-request-id']) ?? randomUUID();
    response.setHeader('x-request-id', requestId);
    await answerWithYoga<ServerContext>(yoga, request, response, { requestId }, config.limits.maxBodyBytes, log);
  });

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: config.limits.wsMaxPayloadBytes });

  useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: config.limits.wsInitTimeoutMs,
      // Close reasons never carry internal error messages, whatever NODE_ENV says.
      isProd: true,
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: async (args: ExecutionArgs) => {
        const result = await (args.rootValue as Enveloped).subscribe(args);
        if (isAsyncIterable(result) || !result.errors?.length) return result;
        // A subscription refused at its start (NOT_FOUND, BAD_USER_INPUT, ...) is a
        // graphql-ws `error` message for that id, as the contract says, not next+complete.
        return failedStream(result.errors[0]!);
      },
      onConnect: async (ctx) => {
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
        log.info({ connectionId: ctx.extra.connectionId, userId: viewer.id, transport: 'ws' }, 'connection opened');
        return true;
      },
      onError: (ctx, _id, _payload, errors) => {
        // graphql-ws re-wraps what a stream throws; the original says whether it was ours.
        if (errors.some((error) => isSlowConsumer(error) || isSlowConsumer(error.originalError))) {
          ctx.extra.socket.close(CloseCode_SlowConsumer, 'Slow consumer');
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
      onSubscribe: async (ctx, id, params) => {
        const refused = tooManyOperations(ctx, config.limits.subscriptionsPerConnection);
        if (refused) return refused;
        const enveloped = yoga.getEnveloped({
          viewer: ctx.extra.viewer ?? null,
          requestId: `${ctx.extra.connectionId ?? 'unacknowledged'}/${id}`,
          // No `request`: Yoga's HTTP plugins would read it as the operation's HTTP request, and the
          // upgrade is a GET, so every mutation over graphql-ws would be refused as "mutation via GET".
          params,
          // A fan-out group writes this subscription's frames itself (fanout-groups.ts).
          wsTarget: { socket: ctx.extra.socket, id },
        } as unknown as Parameters<typeof yoga.getEnveloped>[0]);
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
      },
    },
    wsServer,
  );
  // After graphql-ws's own `connection` handler: a client sending a server's message type gets 4400, not 4500,
  // and a socket error is a debug line, not a stack trace on stderr.
  wsServer.on('connection', (socket) => {
    refuseServerMessages(socket);
    logSocketErrors(socket, log);
  });

  let url = '';
  let port = 0;

  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    database,
    pubsub,
    relay,
    log,
    async start() {
      await presence.start();
      await connectionSlots.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => resolve());
      });
      port = (httpServer.address() as AddressInfo).port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/graphql`;
      relay.start();
      webhook.start();
    },
    async stop() {
      // Stop accepting, tell WebSocket clients to go elsewhere (1001), let requests in
      // flight (mutations) finish, then cut what is left (SSE streams, stragglers).
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const socket of wsServer.clients) closeSocket(socket);
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await inFlight.drained(config.shutdownGraceMs);
      httpServer.closeAllConnections();
      await closed;
      await webhook.stop();
      await presence.stop();
      await connectionSlots.stop();
      await relay.stop();
      await yoga.dispose();
      await pubsub.close();
      await rateLimiter.close();
      await database.close();
    },
  };
}

/** What the HTTP handler (requestId) and graphql-ws (viewer) hand Yoga besides the request. */
type ServerContext = { viewer?: Viewer | null; requestId?: string } & BodyLimitContext;

/** Yoga's enveloped execute/subscribe travel to graphql-ws as the root value of each operation. */
type Enveloped = { execute: NonNullable<ServerOptions['execute']>; subscribe: NonNullable<ServerOptions['subscribe']> };

const READY_TIMEOUT_MS = 2000;

/** Everything a per-viewer field may depend on: who, in which role, for which partner. */
function viewerKeyOf(context: Context): string {
  const viewer = context.viewer;
  return viewer ? JSON.stringify([viewer.id, viewer.role, viewer.partnerId ?? null]) : '';
}

/** A caller's own request id is kept when it is a plausible id, so logs can be joined across services. */
function validRequestId(value: string | string[] | undefined): string | null {
  return typeof value === 'string' && /^[\w.:-]{1,100}$/.test(value) ? value : null;
}
/** WebSocket close code 1013 "Try Again Later": the contract's code for a slow consumer. */
const CloseCode_SlowConsumer = 1013;


async function* failedStream(error: GraphQLError): AsyncGenerator<never> {
  throw error;
}

function closeSocket(socket: WebSocket): void {
  socket.close(1001, 'Server shutting down');
}
