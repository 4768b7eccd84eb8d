import { readFileSync } from 'node:fs';

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
  /** PGlite data directory, or `memory://` for a throwaway database. @default './.data' */
  dataDir: string;
  /** Redis connection string; absent means an in-process PubSub. */
  redisUrl: string | null;
  /** Prefix of every PubSub channel, so several deployments (or tests) can share one Redis. @default 'rt:' */
  pubsubPrefix: string;
  jwt: JwtConfig;
  limits: Limits;
  /** How often the relay polls the outbox when no NOTIFY arrives. @default 1000 */
  relayPollMs: number;
  /** @default 'info' */
  logLevel: string;
  /** Graphiql page at GET /graphql. @default on unless production */
  graphiql: boolean;
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
}

export const DEVELOPMENT_JWT_SECRET = 'development-secret-not-for-production';

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

export function loadConfig(env: Env = process.env): Config {
  const environment = nodeEnv(env);
  const production = environment === 'production';
  return {
    nodeEnv: environment,
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: text(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
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
    },
    relayPollMs: integer(env, 'RELAY_POLL_MS', 1000, 10, 60_000),
    logLevel: text(env, 'LOG_LEVEL') ?? (environment === 'test' ? 'warn' : 'info'),
    graphiql: boolean(env, 'GRAPHIQL', !production),
  };
}
