import type { FileUrlSigner } from './attachments/signed-url.js';
import type { Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { Logger } from './observability/log.js';
import type { Presence } from './presence/index.js';
import type { PubSub } from './pubsub/index.js';
import type { RateLimiter } from './limits/rate-limiter.js';

/** Long-lived parts of the server that resolvers use. */
export interface Services {
  config: Config;
  db: Db;
  pubsub: PubSub;
  log: Logger;
  /** Who is online, cluster-wide. */
  presence: Presence;
  /** Per-user limits, shared by the cluster when Redis is configured. */
  rateLimiter: RateLimiter;
  /** Signs attachment URLs; null while attachments are off (no ATTACHMENT_URL_SECRET in production). */
  fileUrls: FileUrlSigner | null;
}

/** The GraphQL context of one operation. */
export interface Context {
  viewer: Viewer | null;
  services: Services;
  /** Ties log lines of one request (HTTP) or operation (`<connection id>/<operation id>` over graphql-ws) together. */
  requestId: string;
}

/** For resolvers behind the `authenticated` scope: the scope already refused anonymous callers. */
export function viewerOf(context: Context): Viewer {
  if (!context.viewer) throw new Error('viewerOf() used on a field without the authenticated scope');
  return context.viewer;
}

/**
 * Whether an operation came over HTTP (a query, a mutation or an SSE stream):
 * those carry Yoga's fetch Request in `request`. graphql-ws operations carry
 * none (see transport/graphql-ws.ts prepareOperation).
 */
export function overHttp(context: unknown): boolean {
  const request = (context as { request?: { headers?: { get?: unknown } } } | null)?.request;
  return typeof request?.headers?.get === 'function';
}
