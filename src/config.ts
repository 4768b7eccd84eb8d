import { readFileSync } from 'node:fs';
import { PersistedDocuments } from './basics/persisted-documents.js';

/** Everything the server reads from the environment, validated once at start. */
export interface Config {
  /** @default 'development' */
  nodeEnv: 'development' | 'production' | 'test';
  /** @default 4000 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** PostgreSQL connection string; absent means embedded PGlite. */
  databaseUrl: string | null;
  /** Connections this process holds to PostgreSQL (DATABASE_POOL_SIZE); requests beyond it queue for one. @default 10 */
  databasePoolSize: number;
  /** PGlite data directory, or `memory://` for a throwaway database. @default './.data' */
  dataDir: string;
  /** Redis connection string; absent means an in-process PubSub. */
  redisUrl: string | null;
  /** Prefix of every PubSub channel, so several deployments (or tests) can share one Redis. @default 'rt:' */
  pubsubPrefix: string;
  jwt: JwtConfig;
  limits: Limits;
  /** How often the relay leader looks for newly committed outbox rows (writers do not notify; this process's mutations wake it). @default 10 */
  relayPollMs: number;
  /**
   * Published outbox rows older than this are pruned; a `since` older than it
   * answers RESUME_EXPIRED (the client refetches instead). @default 24
   */
  outboxRetentionHours: number;
  /** How long a stopping server waits for requests in flight. @default 10000 */
  shutdownGraceMs: number;
  /** Unread events one subscription may hold before it counts as a slow consumer (closed with 1013). @default 10000 */
  subscriberBufferLimit: number;
  /** Unsent bytes a grouped graphql-ws subscriber's socket may hold before it is a slow consumer (1013). */
  subscriberBufferBytes: number;
  /** One execution per event and operation shape, shared by its subscribers (SHARED_EXECUTION=false: one per subscriber). */
  sharedExecution: boolean;
  /** The platform's share of an order total (PLATFORM_FEE_PERCENT); the partner's payout is the rest. @default 20 */
  platformFeePercent: number;
  /** How long a typing=true signal lasts unless renewed. @default 5000 */
  typingLapseMs: number;
  /**
   * A WebSocket ping on every connection and a comment on every SSE stream this often
   * (WS_PING_INTERVAL_MS); a WebSocket that has not answered one ping by the next is cut. @default 30000
   */
  wsPingIntervalMs: number;
  presence: PresenceConfig;
  webhook: WebhookConfig;
  attachments: AttachmentConfig;
  /** Least time between two results of one live query (LIVE_THROTTLE_MIN_MS); `@live(throttle:)` may ask for more. @default 250 */
  liveThrottleMinMs: number;
  /** @default 'info' */
  logLevel: string;
  /** Graphiql page at GET /graphql. @default on unless production or TRUSTED_DOCUMENTS */
  graphiql: boolean;
  /** Schema introspection (INTROSPECTION), over every transport. @default on unless production or TRUSTED_DOCUMENTS */
  introspection: boolean;
  /** TRUSTED_DOCUMENTS: the only documents the server runs, named by id on every transport; null: any document, as text. @default null */
  trustedDocuments: PersistedDocuments | null;
  cors: CorsConfig;
}

/**
 * Which browser origins may call the API (CORS_ORIGINS, comma-separated, or `*`).
 * Credentials (CORS_CREDENTIALS) are never allowed together with `*`.
 */
export interface CorsConfig {
  /** `'*'`: any origin; a list: exactly those. @default '*' unless production, none in production */
  origins: '*' | string[];
  /** Access-Control-Allow-Credentials; tokens travel in headers, so cookies are not needed. @default false */
  credentials: boolean;
}

export type JwtConfig =
  | { kind: 'secret'; secret: Uint8Array; development: boolean; issuer: string | null; audience: string | null }
  | { kind: 'publicKey'; pem: string; algorithms: ('RS256' | 'ES256')[]; issuer: string | null; audience: string | null };

export interface Limits {
  /** @default 200 */
  notificationTitleMax: number;
  /** @default 4000 */
  notificationBodyMax: number;
  /** @default 500 */
  markReadMaxIds: number;
  /** @default 100 */
  pageSizeMax: number;
  /** @default 65536 */
  wsMaxPayloadBytes: number;
  /** Characters of a chat message body, after trimming. @default 4000 */
  messageBodyMax: number;
  /** sendMessage calls per user per window. @default 30 */
  sendMessagePerWindow: number;
  /** @default 10000 */
  sendMessageWindowMs: number;
  /** setTyping calls per user per window. @default 5 */
  typingPerWindow: number;
  /** @default 1000 */
  typingWindowMs: number;
  /** How long a new WebSocket may wait before its connection_init (WS_INIT_TIMEOUT_MS); then 4408. @default 3000 */
  wsInitTimeoutMs: number;
  /** Nesting of selections per operation (MAX_QUERY_DEPTH). @default 10 */
  maxDepth: number;
  /** Fields selected per operation, fragments expanded (MAX_QUERY_FIELDS). @default 200 */
  maxFields: number;
  /** Aliases per operation (MAX_QUERY_ALIASES). @default 15 */
  maxAliases: number;
  /** graphql-armor's cost per operation (MAX_QUERY_COST): one full page of 100 passes, pages nested in pages do not. @default 50000 */
  maxCost: number;
  /** Lexical tokens per document, checked while parsing (MAX_QUERY_TOKENS). @default 2000 */
  maxTokens: number;
  /** Directives per operation (MAX_QUERY_DIRECTIVES). @default 50 */
  maxDirectives: number;
  /** Operations in one batched HTTP request (BATCH_LIMIT); 1 turns batching off. @default 10 */
  batchLimit: number;
  /** HTTP request body (MAX_BODY_BYTES); larger is refused with 413. @default 1048576 */
  maxBodyBytes: number;
  /** Open graphql-ws connections and SSE streams per user, cluster-wide (MAX_CONNECTIONS_PER_USER). @default 20 */
  connectionsPerUser: number;
  /** Operations running at once on one graphql-ws connection (MAX_SUBSCRIPTIONS_PER_CONNECTION). @default 100 */
  subscriptionsPerConnection: number;
}

export interface PresenceConfig {
  /** How often each process renews its heartbeat in Redis (PRESENCE_HEARTBEAT_MS). @default 5000 */
  heartbeatMs: number;
  /** A process silent this long counts as dead and its users go offline (PRESENCE_TTL_MS). @default 20000 */
  ttlMs: number;
}

/** Offline delivery of notifications by webhook (CONTRACT.md "Offline delivery"). */
export interface WebhookConfig {
  /** OFFLINE_WEBHOOK_URL; null: no offline delivery. */
  url: string | null;
  /** WEBHOOK_SECRET, the HMAC key of X-Signature; required with a URL in production. @default '' */
  secret: string;
  /** Unread this long after creation (OFFLINE_DELAY_S) while the user is offline: sent. @default 30 */
  offlineDelayS: number;
  /** First retry after this (WEBHOOK_RETRY_BASE_MS), doubling. @default 1000 */
  retryBaseMs: number;
  /** Longest wait between two attempts (WEBHOOK_RETRY_MAX_MS). @default 600000 */
  retryMaxMs: number;
  /** One attempt's timeout (WEBHOOK_TIMEOUT_MS). @default 10000 */
  timeoutMs: number;
  /** No attempt after a notification is this old (WEBHOOK_GIVE_UP_S). @default 86400 */
  giveUpS: number;
  /** How often each process looks for due deliveries (WEBHOOK_POLL_MS). @default 1000 */
  pollMs: number;
}

/** Files sent with chat messages (contract part "chat", Attachments). */
export interface AttachmentConfig {
  /** Files per message, and per multipart request (ATTACHMENTS_PER_MESSAGE). @default 10 */
  perMessage: number;
  /** Bytes per file (ATTACHMENT_MAX_BYTES), refused while it streams in. @default 10485760 */
  maxBytes: number;
  /**
   * ATTACHMENT_URL_SECRET, the HMAC key of GET /files/… URLs. In production
   * without it, attachments are off (sendMessage refuses files, the server
   * says so at start): a known development key would let anyone forge URLs.
   */
  urlSecret: string | null;
  /** How long a file's URL works after it was read (ATTACHMENT_URL_TTL_S). @default 900 */
  urlTtlS: number;
}

export const DEVELOPMENT_JWT_SECRET = 'development-secret-not-for-production';
/** Without ATTACHMENT_URL_SECRET outside production; anyone who knows it can forge file URLs. */
export const DEVELOPMENT_ATTACHMENT_URL_SECRET = 'development-attachment-url-secret-not-for-production';

export class ConfigError extends Error {
  constructor(variable: string, why: string) {
    super(`Invalid configuration: ${variable} ${why}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === null) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = text(env, name);
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

function nodeEnv(env: Env): Config['nodeEnv'] {
  const raw = text(env, 'NODE_ENV') ?? 'development';
  if (raw === 'development' || raw === 'production' || raw === 'test') return raw;
  throw new ConfigError('NODE_ENV', `must be development, production or test, got "${raw}"`);
}

function jwtConfig(env: Env, production: boolean): JwtConfig {
  const issuer = text(env, 'JWT_ISSUER');
  const audience = text(env, 'JWT_AUDIENCE');
  const secret = text(env, 'JWT_SECRET');
  const publicKey = text(env, 'JWT_PUBLIC_KEY');
  const publicKeyFile = text(env, 'JWT_PUBLIC_KEY_FILE');
  if (secret && (publicKey || publicKeyFile)) {
    throw new ConfigError('JWT_SECRET', 'and JWT_PUBLIC_KEY are both set; choose one');
  }
  if (publicKey || publicKeyFile) {
    const pem = publicKey ?? readFileSync(publicKeyFile!, 'utf8');
    if (!pem.includes('BEGIN PUBLIC KEY')) throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
    return { kind: 'publicKey', pem: pem.replace(/\\n/g, '\n'), algorithms: ['RS256', 'ES256'], issuer, audience };
  }
  if (secret) {
    if (production && secret.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters in production');
    return { kind: 'secret', secret: new TextEncoder().encode(secret), development: false, issuer, audience };
  }
  if (production) throw new ConfigError('JWT_SECRET', 'or JWT_PUBLIC_KEY is required when NODE_ENV=production');
  return { kind: 'secret', secret: new TextEncoder().encode(DEVELOPMENT_JWT_SECRET), development: true, issuer, audience };
}

function corsConfig(env: Env, production: boolean): CorsConfig {
  const raw = text(env, 'CORS_ORIGINS');
  const credentials = boolean(env, 'CORS_CREDENTIALS', false);
  let origins: CorsConfig['origins'];
  if (raw === null) origins = production ? [] : '*';
  else if (raw === '*') origins = '*';
  else {
    origins = raw.split(',').map((origin) => origin.trim()).filter(Boolean);
    for (const origin of origins) {
      let parsed: URL | null = null;
      try {
        parsed = new URL(origin);
      } catch {
        // reported below
      }
      // An origin is scheme://host[:port], exactly as browsers send it: no path, no trailing slash.
      if (!parsed || parsed.origin !== origin) throw new ConfigError('CORS_ORIGINS', `must list origins like https://app.example, got "${origin}"`);
    }
  }
  if (origins === '*' && credentials) throw new ConfigError('CORS_CREDENTIALS', 'cannot be true while CORS_ORIGINS allows any origin (*)');
  return { origins, credentials };
}

function presenceConfig(env: Env): PresenceConfig {
  const heartbeatMs = integer(env, 'PRESENCE_HEARTBEAT_MS', 5000, 50, 60_000);
  const ttlMs = integer(env, 'PRESENCE_TTL_MS', 20_000, 150, 600_000);
  if (ttlMs < 2 * heartbeatMs) throw new ConfigError('PRESENCE_TTL_MS', `must be at least twice PRESENCE_HEARTBEAT_MS (${heartbeatMs})`);
  return { heartbeatMs, ttlMs };
}

function webhookConfig(env: Env, production: boolean): WebhookConfig {
  const webhookUrl = url(env, 'OFFLINE_WEBHOOK_URL', ['http:', 'https:']);
  const secret = text(env, 'WEBHOOK_SECRET');
  if (webhookUrl && !secret && production) throw new ConfigError('WEBHOOK_SECRET', 'is required with OFFLINE_WEBHOOK_URL when NODE_ENV=production');
  return {
    url: webhookUrl,
    secret: secret ?? '',
    offlineDelayS: integer(env, 'OFFLINE_DELAY_S', 30, 0, 86_400),
    retryBaseMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', 1000, 10, 3_600_000),
    retryMaxMs: integer(env, 'WEBHOOK_RETRY_MAX_MS', 600_000, 10, 86_400_000),
    timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
    giveUpS: integer(env, 'WEBHOOK_GIVE_UP_S', 86_400, 1, 30 * 86_400),
    pollMs: integer(env, 'WEBHOOK_POLL_MS', 1000, 10, 60_000),
  };
}

function attachmentConfig(env: Env, production: boolean): AttachmentConfig {
  const urlSecret = text(env, 'ATTACHMENT_URL_SECRET');
  if (urlSecret !== null && production && urlSecret.length < 32) throw new ConfigError('ATTACHMENT_URL_SECRET', 'must be at least 32 characters in production');
  return {
    perMessage: integer(env, 'ATTACHMENTS_PER_MESSAGE', 10, 1, 100),
    maxBytes: integer(env, 'ATTACHMENT_MAX_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    urlSecret: urlSecret ?? (production ? null : DEVELOPMENT_ATTACHMENT_URL_SECRET),
    // At least the 10 minutes the contract promises.
    urlTtlS: integer(env, 'ATTACHMENT_URL_TTL_S', 900, 600, 7 * 86_400),
  };
}

function trustedDocuments(env: Env): PersistedDocuments | null {
  const path = text(env, 'TRUSTED_DOCUMENTS');
  if (path === null) return null;
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('TRUSTED_DOCUMENTS', `cannot be read: ${(error as Error).message}`);
  }
  const documents = PersistedDocuments.parse(json);
  if ('invalid' in documents) throw new ConfigError('TRUSTED_DOCUMENTS', `(${path}) ${documents.invalid}`);
  return documents;
}

export function loadConfig(env: Env = process.env): Config {
  const environment = nodeEnv(env);
  const production = environment === 'production';
  const trusted = trustedDocuments(env);
  return {
    nodeEnv: environment,
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: text(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    dataDir: text(env, 'DATA_DIR') ?? './.data',
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    pubsubPrefix: text(env, 'PUBSUB_PREFIX') ?? 'rt:',
    jwt: jwtConfig(env, production),
    limits: {
      notificationTitleMax: integer(env, 'NOTIFICATION_TITLE_MAX', 200, 1, 10_000),
      notificationBodyMax: integer(env, 'NOTIFICATION_BODY_MAX', 4000, 1, 100_000),
      markReadMaxIds: integer(env, 'MARK_READ_MAX_IDS', 500, 1, 10_000),
      pageSizeMax: integer(env, 'PAGE_SIZE_MAX', 100, 1, 1000),
      wsMaxPayloadBytes: integer(env, 'WS_MAX_PAYLOAD_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
      messageBodyMax: integer(env, 'MESSAGE_BODY_MAX', 4000, 1, 100_000),
      sendMessagePerWindow: integer(env, 'SEND_MESSAGE_LIMIT', 30, 1, 1_000_000),
      sendMessageWindowMs: integer(env, 'SEND_MESSAGE_WINDOW_MS', 10_000, 100, 3_600_000),
      typingPerWindow: integer(env, 'TYPING_LIMIT', 5, 1, 1_000_000),
      typingWindowMs: integer(env, 'TYPING_WINDOW_MS', 1000, 100, 3_600_000),
      wsInitTimeoutMs: integer(env, 'WS_INIT_TIMEOUT_MS', 3000, 10, 600_000),
      maxDepth: integer(env, 'MAX_QUERY_DEPTH', 10, 1, 100),
      maxFields: integer(env, 'MAX_QUERY_FIELDS', 200, 1, 100_000),
      maxAliases: integer(env, 'MAX_QUERY_ALIASES', 15, 0, 10_000),
      maxCost: integer(env, 'MAX_QUERY_COST', 50_000, 1, 100_000_000),
      maxTokens: integer(env, 'MAX_QUERY_TOKENS', 2000, 10, 1_000_000),
      maxDirectives: integer(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 10_000),
      batchLimit: integer(env, 'BATCH_LIMIT', 10, 1, 1000),
      maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
      connectionsPerUser: integer(env, 'MAX_CONNECTIONS_PER_USER', 20, 1, 100_000),
      subscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 100_000),
    },
    relayPollMs: integer(env, 'RELAY_POLL_MS', 10, 1, 60_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    outboxRetentionHours: integer(env, 'OUTBOX_RETENTION_HOURS', 24, 1, 24 * 365),
    subscriberBufferLimit: integer(env, 'SUBSCRIBER_BUFFER_LIMIT', 10_000, 10, 1_000_000),
    sharedExecution: boolean(env, 'SHARED_EXECUTION', true),
    subscriberBufferBytes: integer(env, 'SUBSCRIBER_BUFFER_BYTES', 16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    platformFeePercent: integer(env, 'PLATFORM_FEE_PERCENT', 20, 0, 100),
    typingLapseMs: integer(env, 'TYPING_LAPSE_MS', 5000, 50, 600_000),
    wsPingIntervalMs: integer(env, 'WS_PING_INTERVAL_MS', 30_000, 100, 600_000),
    presence: presenceConfig(env),
    webhook: webhookConfig(env, production),
    attachments: attachmentConfig(env, production),
    liveThrottleMinMs: integer(env, 'LIVE_THROTTLE_MIN_MS', 250, 0, 600_000),
    logLevel: text(env, 'LOG_LEVEL') ?? (environment === 'test' ? 'warn' : 'info'),
    graphiql: boolean(env, 'GRAPHIQL', !production && !trusted),
    introspection: boolean(env, 'INTROSPECTION', !production && !trusted),
    trustedDocuments: trusted,
    cors: corsConfig(env, production),
  };
}
