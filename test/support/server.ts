import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { signToken, type TokenClaims } from '../../src/auth/token.js';
import { loadConfig } from '../../src/config.js';
import { createServer, type RealtimeServer } from '../../src/server.js';
import { deferred, within } from './deferred.js';

export const TEST_JWT_SECRET = 'test-secret-0123456789-0123456789-abcdef';
const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);

export type BackendName = 'embedded' | 'postgres+redis';
/** Every domain suite runs once per backend. */
export const BACKENDS: BackendName[] = ['embedded', 'postgres+redis'];

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function token(claims: TokenClaims, expiresIn: string | number = '1h'): Promise<string> {
  return signToken(secretKey, claims, expiresIn);
}

/** A database of its own on the shared PostgreSQL; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rt_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** What every test server runs with: the test secret, a free port, a fast relay poll, a channel prefix of its own. */
function testEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: '0',
    RELAY_POLL_MS: '20',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBSUB_PREFIX: `t${randomBytes(4).toString('hex')}:`,
  };
}

/** Environment for server processes that form one cluster on this PostgreSQL and Redis. */
export function clusterEnv(databaseUrl: string, redisUrl: string = TEST_REDIS_URL): Record<string, string> {
  return { ...testEnv(), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
}

/** Environment for one backend: its own database (or in-memory PGlite) and channel prefix. */
export async function backendEnv(backend: BackendName): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  if (backend === 'embedded') return { env: { ...testEnv(), DATA_DIR: 'memory://' }, cleanup: async () => {} };
  const database = await createTestDatabase();
  return { env: clusterEnv(database.url), cleanup: database.drop };
}

export interface TestServer {
  backend: BackendName;
  server: RealtimeServer;
  url: string;
  env: Record<string, string>;
  /** Plain SQL, as an outside writer (psql, another service) would send it. */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

/** Starts the real server in this process on a free port. */
export async function startTestServer(backend: BackendName, extraEnv: Record<string, string> = {}): Promise<TestServer> {
  const { env, cleanup } = await backendEnv(backend);
  Object.assign(env, extraEnv);
  const server = await createServer(loadConfig(env));
  await server.start();
  const session = await server.database.openSession();
  return {
    backend,
    server,
    url: server.url,
    env,
    sql: (text, params) => session.query(text, params),
    async stop() {
      await session.close();
      await server.stop();
      await cleanup();
    },
  };
}

/**
 * `env` as production runs the server, for the benchmarks: NODE_ENV=production (what it switches
 * off: introspection, GraphiQL, graphql-js's cross-realm instanceof checks) and the default relay
 * poll instead of the tests' one.
 */
export function asProduction(env: Record<string, string>): Record<string, string> {
  const production: Record<string, string> = { ...env, NODE_ENV: 'production' };
  delete production.RELAY_POLL_MS;
  return production;
}

/** The flags `npm run serve` gives node (package.json; why: docs/deployment.md). */
const PRODUCTION_NODE_FLAGS = ['--max-semi-space-size=32'];

export interface ServerProcess {
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the server as its own process (for cluster and fail-over tests, and
 * benchmarks): `src/main.ts` through tsx, or with `compiled` the build in
 * `dist/` (`npm run build`), as production runs it. With `cwd`, another
 * checkout's server runs (a benchmark's before/after side by side).
 */
export async function startServerProcess(env: Record<string, string>, nodeArgs: string[] = [], options: { compiled?: boolean; cwd?: string } = {}): Promise<ServerProcess> {
  const entry = options.compiled ? [...PRODUCTION_NODE_FLAGS, 'dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'warn' : (env.LOG_LEVEL ?? 'warn') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = deferred<string>();
  const exited = deferred<number | null>();
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (process.env.TEST_SHOW_SERVER_OUTPUT) process.stderr.write(chunk);
    const match = /GraphQL API \(HTTP, WebSocket, SSE\): (\S+)/.exec(output);
    if (match) started.resolve(match[1]!);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.on('exit', (code) => {
    exited.resolve(code);
    started.reject(new Error(`server process exited with ${code} before starting:\n${output}`));
  });
  const url = await within(started.promise, 30_000, 'the server process to start');
  return {
    url,
    output: () => output,
    child,
    exited: exited.promise,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited.promise;
    },
  };
}
