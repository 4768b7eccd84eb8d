import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { findUsers } from '../src/db/users.js';
import { createTestDatabase } from './support/server.js';

describe('statements on PostgreSQL', () => {
  let database: DatabaseHandle;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await createTestDatabase();
    drop = created.drop;
    // One connection: what the statements below prepared is visible to the next ones.
    database = await openDatabase({ databaseUrl: created.url, databasePoolSize: 1, dataDir: '' });
    await migrate(database);
  });

  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const prepared = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements where statement like '%prepared-probe%'`.execute(database.db)).rows.map((row) => row.statement);

  it('prepares a parameterized statement once per connection and runs it with each call’s values', async () => {
    const probe = (value: number) => sql<{ doubled: number }>`select ${value}::int * 2 as doubled /* prepared-probe */`.execute(database.db);
    expect((await probe(2)).rows).toEqual([{ doubled: 4 }]);
    expect((await probe(21)).rows).toEqual([{ doubled: 42 }]);
    expect(await prepared()).toEqual(['select $1::int * 2 as doubled /* prepared-probe */']);
  });

  it('leaves statements without parameters unprepared, and a failed statement fails only itself', async () => {
    await sql`select 1 /* prepared-probe without parameters */`.execute(database.db);
    await expect(sql`select ${'x'}::int /* prepared-probe failing */`.execute(database.db)).rejects.toThrow(/invalid input syntax/);
    expect((await sql<{ n: number }>`select ${7}::int as n /* prepared-probe after failure */`.execute(database.db)).rows).toEqual([{ n: 7 }]);
    expect(await prepared()).not.toContain('select 1 /* prepared-probe without parameters */');
  });

  it('loads id lists of any length with one prepared statement', async () => {
    await sql`insert into users (id, display_name, role) values ('probe-a', 'A', 'CUSTOMER'), ('probe-b', 'B', 'CUSTOMER')`.execute(database.db);
    const before = await allPrepared();
    expect((await findUsers(database.db, ['probe-a'])).map((row) => row.id)).toEqual(['probe-a']);
    expect((await findUsers(database.db, ['probe-a', 'probe-b', 'probe-none'])).map((row) => row.id).sort()).toEqual(['probe-a', 'probe-b']);
    const added = (await allPrepared()).filter((statement) => !before.includes(statement));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/= any\(\$1::text\[\]\)/);
  });

  const allPrepared = async () => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(database.db)).rows.map((row) => row.statement);
});
