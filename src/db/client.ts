import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { Mutex } from './mutex.js';
import { PGliteDialect } from './pglite-dialect.js';
import { PreparingClient } from './prepared-statements.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;

/**
 * One dedicated database session, outside the pool: session advisory locks
 * (relay leadership, migrations) need the same connection for their whole life.
 */
export interface DbSession {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements (migrations). */
  exec(script: string): Promise<void>;
  /** Called once if the session's connection dies; the session is then unusable. */
  onLost(handler: (error: Error) => void): void;
  close(): Promise<void>;
}

export interface DatabaseHandle {
  kind: 'postgres' | 'pglite';
  db: Db;
  openSession(): Promise<DbSession>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const INT8_OID = 20;

export async function openDatabase(options: { databaseUrl: string | null; databasePoolSize: number; dataDir: string }): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.databasePoolSize) : openPGlite(options.dataDir);
}

function openPostgres(connectionString: string, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5000, Client: PreparingClient });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    async openSession() {
      const client = new PreparingClient({ connectionString, connectionTimeoutMillis: 5000 });
      let lostHandler: (error: Error) => void = () => {};
      let lost = false;
      const markLost = (error: Error) => {
        if (lost) return;
        lost = true;
        lostHandler(error);
      };
      client.on('error', markLost);
      client.on('end', () => markLost(new Error('database session ended')));
      await client.connect();
      return {
        async query<R>(text: string, params: unknown[] = []) {
          return (await client.query(text, params)).rows as R[];
        },
        async exec(script) {
          await client.query(script);
        },
        onLost(handler) {
          lostHandler = handler;
        },
        async close() {
          lost = true;
          await client.end().catch(() => {});
        },
      };
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  if (!dataDir.includes('://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { parsers: { [INT8_OID]: (value: string) => value } });
  const mutex = new Mutex();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite, mutex) });
  return {
    kind: 'pglite',
    db,
    async openSession() {
      return {
        query: <R>(text: string, params: unknown[] = []) =>
          mutex.run(async () => (await pglite.query<R>(text, params)).rows),
        exec: (script) => mutex.run(async () => void (await pglite.exec(script))),
        onLost() {},
        async close() {},
      };
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      await mutex.run(() => pglite.close());
    },
  };
}
