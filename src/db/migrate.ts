import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseHandle } from './client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Any fixed number: every process that migrates takes the same lock, so they run one at a time. */
const MIGRATION_LOCK_KEY = 7_263_540_000;

/**
 * Applies migrations/*.sql that have not run yet, in name order, each in its
 * own transaction, under a session advisory lock; returns the names applied.
 */
export async function migrate(database: DatabaseHandle, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const session = await database.openSession();
  try {
    await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await session.exec(`create table if not exists schema_migrations (
      name text primary key,
      applied_at timestamptz not null default now()
    )`);
    const rows = await session.query<{ name: string }>('select name from schema_migrations');
    const applied = new Set(rows.map((row) => row.name));
    const ran: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      const script = await readFile(join(dir, file), 'utf8');
      try {
        await session.exec(`begin;\n${script}\n;insert into schema_migrations (name) values ('${file.replace(/'/g, "''")}');\ncommit;`);
      } catch (error) {
        await session.exec('rollback').catch(() => {});
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      ran.push(file);
    }
    return ran;
  } finally {
    await session.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await session.close();
  }
}
