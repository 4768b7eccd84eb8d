import type { AddressInfo } from 'node:net';
import type { WebSocketServer } from 'ws';
import { fileUrlSigner } from './attachments/signed-url.js';
import { createTokenVerifier } from './auth/verify.js';
import { createViewerFromToken } from './auth/viewer-from-token.js';
import { withTimeout } from './basics/timeout.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { migrate } from './db/migrate.js';
import { savePlatformFee } from './db/orders.js';
import { relayLag } from './db/outbox.js';
import { createErrorMasker } from './delivery/error-masking.js';
import { createConnectionSlots } from './limits/connection-slots.js';
import { multipartBodyLimit } from './limits/multipart.js';
import { createRateLimiter } from './limits/rate-limiter.js';
import { createLogger, type Logger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createPresence } from './presence/index.js';
import { catchUpFromOutbox } from './pubsub/catch-up.js';
import { createPubSub, type PubSub } from './pubsub/index.js';
import { createRelay, type Relay } from './pubsub/relay.js';
import { developmentAdmin, type DevelopmentAdmin } from './transport/graphiql.js';
import { createGraphQLHandler } from './transport/graphql-handler.js';
import { attachGraphqlWs, closeForShutdown } from './transport/graphql-ws.js';
import { fileServer } from './transport/files.js';
import { createHttpTransport } from './transport/http-server.js';
import { createWebhookSender } from './webhook/sender.js';

export interface RealtimeServer {
  /** http://host:port/graphql, known after start(). */
  readonly url: string;
  readonly port: number;
  readonly database: DatabaseHandle;
  readonly pubsub: PubSub;
  readonly relay: Relay;
  readonly log: Logger;
  /** With the development secret only: the admin whose token start-up prints and GraphiQL is prefilled with. */
  readonly developmentAdmin: DevelopmentAdmin | null;
  start(): Promise<void>;
  /** Stops accepting, closes sockets with 1001, publishes what is committed, releases the relay. */
  stop(): Promise<void>;
}

/** How long /ready waits for the database and the PubSub: a client waiting to reconnect queues commands instead of failing them. */
const READY_TIMEOUT_MS = 2000;

/** The server: open the services, build the GraphQL handler, attach the transports, return start/stop. */
export async function createServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RealtimeServer> {
  // First: a key that cannot be read stops the server before anything opens.
  const verifyToken = await createTokenVerifier(config.jwt);
  const opened = await openServices(config, log);
  const { database, pubsub, relay, presence, connectionSlots, metrics } = opened;
  const viewerFromToken = createViewerFromToken(verifyToken, database.db);
  const admin = developmentAdmin(config);
  const handler = createGraphQLHandler({
    config,
    services: opened.services,
    viewerFromToken,
    connectionSlots,
    presence,
    relay,
    metrics,
    maskError: createErrorMasker(log),
    developmentAdmin: admin,
    ready: () => withTimeout(Promise.all([database.ping(), pubsub.ping()]), READY_TIMEOUT_MS).then(() => true, () => false),
    log,
  });
  const http = createHttpTransport({
    handler,
    limits: { maxBodyBytes: config.limits.maxBodyBytes, multipartMaxBytes: multipartBodyLimit(config.attachments, config.limits.maxBodyBytes) },
    files: fileServer(opened.services.fileUrls, opened.services.db, log),
    metrics: { contentType: metrics.registry.contentType, render: () => renderMetrics(opened, wsServer) },
    log,
  });
  const wsServer = attachGraphqlWs(http.server, { config, handler, viewerFromToken, connectionSlots, presence, metrics, log });

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
    developmentAdmin: admin,
    async start() {
      await presence.start();
      await connectionSlots.start();
      await new Promise<void>((resolve, reject) => {
        http.server.once('error', reject);
        http.server.listen(config.port, config.host, () => resolve());
      });
      port = (http.server.address() as AddressInfo).port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/graphql`;
      relay.start();
      opened.webhook.start();
    },
    async stop() {
      // Stop accepting, tell WebSocket clients to go elsewhere (1001), let requests in
      // flight (mutations) finish, then cut what is left (SSE streams, stragglers).
      const closed = new Promise<void>((resolve) => http.server.close(() => resolve()));
      for (const socket of wsServer.clients) closeForShutdown(socket);
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      http.server.closeIdleConnections();
      await http.drained(config.shutdownGraceMs);
      http.server.closeAllConnections();
      await closed;
      await closeServices(opened, async () => {
        await handler.dispose();
      });
    },
  };
}

interface OpenedServices {
  database: DatabaseHandle;
  pubsub: PubSub;
  relay: Relay;
  presence: ReturnType<typeof createPresence>;
  connectionSlots: ReturnType<typeof createConnectionSlots>;
  rateLimiter: ReturnType<typeof createRateLimiter>;
  webhook: ReturnType<typeof createWebhookSender>;
  metrics: Metrics;
  /** What resolvers get in their context. */
  services: Services;
}

/** The database (migrated), the PubSub (caught up from the outbox), the relay, presence, limits and the webhook sender. */
async function openServices(config: Config, log: Logger): Promise<OpenedServices> {
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
  const webhook = createWebhookSender({ config: config.webhook, db: database.db, presence, log, registry: metrics.registry });
  const fileUrls = config.attachments.urlSecret === null ? null : fileUrlSigner(config.attachments.urlSecret, config.attachments.urlTtlS);
  const services: Services = { config, db: database.db, pubsub, log, presence, rateLimiter, fileUrls };
  return { database, pubsub, relay, presence, connectionSlots, rateLimiter, webhook, metrics, services };
}

/** In dependency order: webhook attempts finish, users go offline, the relay publishes what is committed and lets go, then the connections close. */
async function closeServices({ webhook, presence, connectionSlots, relay, pubsub, rateLimiter, database }: OpenedServices, disposeHandler: () => Promise<void>): Promise<void> {
  await webhook.stop();
  await presence.stop();
  await connectionSlots.stop();
  await relay.stop();
  await disposeHandler();
  await pubsub.close();
  await rateLimiter.close();
  await database.close();
}

/** The gauges that are sampled when scraped, then the whole registry as Prometheus text. */
async function renderMetrics({ metrics, pubsub, relay, database }: OpenedServices, wsServer: WebSocketServer): Promise<string> {
  metrics.pubsubStreams.set(pubsub.activeSubscriptions());
  metrics.pubsubChannels.set(pubsub.activeChannels());
  metrics.relayLeader.set(relay.isLeader ? 1 : 0);
  metrics.relayLag.set(await relayLag(database.db, relay.isLeader ? relay.lastPublishedPosition : null).catch(() => -1));
  let buffered = 0;
  for (const socket of wsServer.clients) buffered += socket.bufferedAmount;
  metrics.outboundBufferBytes.set(buffered);
  return metrics.registry.metrics();
}
