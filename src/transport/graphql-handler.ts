import { randomUUID } from 'node:crypto';
import { requestFacts, type RequestFacts } from '../basics/server-context.js';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import type { ViewerFromToken } from '../auth/viewer-from-token.js';
import { tokenFromAuthorization, TokenError } from '../auth/verify.js';
import type { Viewer } from '../auth/viewer.js';
import { useDropScopeCacheOfStartedSubscriptions } from '../auth/subscription-scope-cache.js';
import type { Config } from '../config.js';
import type { Context, Services } from '../context.js';
import { useErrorMasking, type MaskError } from '../delivery/error-masking.js';
import { useGraphqlJsExecution } from '../delivery/graphql-js-execution.js';
import { LiveGroups } from '../live/live-groups.js';
import { useLiveQueries } from '../live/plugin.js';
import { FanoutGroups } from '../delivery/fanout-groups.js';
import { useSharedExecution } from '../delivery/shared-execution.js';
import { unauthenticated } from '../errors.js';
import { useVariableErrorCodes } from '../input/variable-errors.js';
import { useWellFormedInput } from '../input/well-formed.js';
import type { ConnectionSlots } from '../limits/connection-slots.js';
import { useOperationLimits } from '../limits/operation-limits.js';
import { fetchApiWithUploadLimits, multipartBodyLimit, useUploadLimits } from '../limits/multipart.js';
import { useRequestBodyLimit } from '../limits/request-body.js';
import { tooManyConnections, useStreamSlots } from '../limits/stream-slots.js';
import type { Logger } from '../observability/log.js';
import { useErrorLog } from '../observability/log-plugin.js';
import type { Metrics } from '../observability/metrics.js';
import { observeSubscriptions, useOperationMetrics } from '../observability/metrics-plugin.js';
import type { Presence } from '../presence/index.js';
import { usePresenceOfStreams } from '../presence/sse.js';
import type { Relay } from '../pubsub/relay.js';
import { useWakeRelayAfterMutations } from '../pubsub/wake-relay.js';
import { schema } from '../schema/index.js';
import { useEndStreamsOfAbortedRequests } from './aborted-streams.js';
import { useSseKeepAlive } from './sse-keep-alive.js';
import { corsPolicy, useCsrfPrevention } from './browser-policy.js';
import { useDocumentCache } from './document-cache.js';
import { graphiqlOptions, type DevelopmentAdmin } from './graphiql.js';
import { useReadinessCheck } from './readiness-check.js';
import { useTrustedDocuments } from './trusted-documents.js';

/** What the HTTP handler (its request facts) and graphql-ws (viewer, requestId) hand Yoga besides the request. */
export type ServerContext = { viewer?: Viewer | null } & RequestFacts;

export interface GraphQLHandlerOptions {
  config: Config;
  /** What resolvers get in their context. */
  services: Services;
  viewerFromToken: ViewerFromToken;
  connectionSlots: ConnectionSlots;
  presence: Presence;
  relay: Relay;
  metrics: Metrics;
  maskError: MaskError;
  /** In development: whose token GraphiQL's headers are prefilled with. */
  developmentAdmin: DevelopmentAdmin | null;
  /** GET /ready: whether the database and the PubSub answer. */
  ready: () => Promise<boolean>;
  log: Logger;
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;

/**
 * The one Yoga instance every transport runs operations through (HTTP and
 * SSE directly, graphql-ws through its `getEnveloped`), with every plugin
 * in the order it must run: limits and checks before anything takes a slot
 * or runs, the delivery engine, then logging, metrics and masking.
 */
export function createGraphQLHandler({ config, services, viewerFromToken, connectionSlots, presence, relay, metrics, maskError, developmentAdmin, ready, log }: GraphQLHandlerOptions) {
  const sharedExecutions = metrics.executions.labels({ shared: 'true' });
  const ownExecutions = metrics.executions.labels({ shared: 'false' });
  const fanoutGroups = new FanoutGroups({
    maskError,
    bufferLimitBytes: config.subscriberBufferBytes,
    onDelivered: (field, members) => {
      ownExecutions.inc();
      if (members > 1) sharedExecutions.inc(members - 1);
      if (members > 0) metrics.deliveries.inc({ field }, members);
    },
  });

  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    cors: corsPolicy(config.cors),
    batching: { limit: config.limits.batchLimit },
    // Read and bounded before Yoga sees the request (readBody, useRequestBodyLimit): Yoga's own
    // limit pipes every body through a web stream, which cost more than the rest of a bare Yoga.
    maxRequestBodySize: false,
    // useDocumentCache below instead.
    parserAndValidationCache: false,
    // Multipart bodies stream to the parser, whose limits stop an upload as it arrives (limits/multipart.ts).
    fetchAPI: fetchApiWithUploadLimits(config.attachments, config.limits.maxBodyBytes),
    graphiql: graphiqlOptions(config, developmentAdmin),
    // The page carries GraphiQL itself instead of loading it from a CDN: it works offline too.
    renderGraphiQL,
    logging: { debug: (...a) => log.debug(a), info: (...a) => log.info(a), warn: (...a) => log.warn(a), error: (...a) => log.error(a) },
    // Masked by useErrorMasking and where events are executed (see error-masking.ts).
    maskedErrors: false,
    context: async (initial: YogaInitialContext & ServerContext): Promise<Context> => {
      const requestId = requestFacts(initial.request, initial).requestId ?? randomUUID();
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
      useGraphqlJsExecution(),
      useCsrfPrevention(),
      // First of the onParams hooks: an id becomes its trusted text, which the limits and checks below then see.
      ...(config.trustedDocuments ? [useTrustedDocuments(config.trustedDocuments)] : []),
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
      useLiveQueries({
        groups: new LiveGroups({
          pubsub: services.pubsub,
          onExecution: (fields) => metrics.liveExecutions.inc({ fields }),
          onResult: () => metrics.liveResults.inc(),
          onCount: (members, groups) => {
            metrics.liveQueries.set({ kind: 'held' }, members);
            metrics.liveQueries.set({ kind: 'groups' }, groups);
          },
        }),
        minThrottleMs: config.liveThrottleMinMs,
        viewerKey: (context) => viewerKeyOf(context as Context),
        maskError,
        openStream: async (userId) => {
          const release = await connectionSlots.take(userId);
          if (!release) return tooManyConnections(config.limits.connectionsPerUser);
          const offline = presence.hold(userId);
          return () => {
            release();
            offline();
          };
        },
      }),
      useOperationMetrics(metrics),
      useWakeRelayAfterMutations(relay),
      useErrorLog(log),
      // After every plugin that wraps stream results (see the file).
      useEndStreamsOfAbortedRequests(),
      useSseKeepAlive(config.wsPingIntervalMs),
      // Last, where Yoga's own masking would be: the plugins above see errors as they were.
      useErrorMasking(maskError),
      useDropScopeCacheOfStartedSubscriptions(),
      // After every plugin with an onRequestParse hook, where Yoga's own check ran.
      useRequestBodyLimit(config.limits.maxBodyBytes, multipartBodyLimit(config.attachments, config.limits.maxBodyBytes)),
      useUploadLimits(config.attachments),
      useReadinessCheck({ endpoint: '/ready', check: ready }),
      // After every plugin that adds a validation rule (document-cache.ts says why it replaces Yoga's).
      useDocumentCache(),
    ],
  });
}

/** Everything a per-viewer field may depend on: who, in which role, for which partner. */
function viewerKeyOf(context: Context): string {
  const viewer = context.viewer;
  return viewer ? JSON.stringify([viewer.id, viewer.role, viewer.partnerId ?? null]) : '';
}
