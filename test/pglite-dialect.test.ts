import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { deferred } from './support/deferred.js';

describe('the PGlite dialect for kysely', () => {
  let database: DatabaseHandle;

  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: null, databasePoolSize: 1, dataDir: 'memory://' });
    await migrate(database);
  });

  afterAll(async () => {
    await database?.close();
  });

  it('runs typed queries, returns int8 as strings and reports affected rows', async () => {
    const inserted = await database.db
      .insertInto('notifications')
      .values([
        { user_id: 'u1', title: 'a', body: '' },
        { user_id: 'u1', title: 'b', body: '' },
      ])
      .returning(['id', 'title'])
      .execute();
    expect(inserted.map((row) => typeof row.id)).toEqual(['string', 'string']);
    const updated = await database.db.updateTable('notifications').set({ read_at: new Date() }).where('user_id', '=', 'u1').executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
  });

  it('gives a transaction the connection from BEGIN to COMMIT: concurrent work waits, a rollback undoes', async () => {
    const insideTransaction = deferred();
    const mayFinish = deferred();
    const transaction = database.db.transaction().execute(async (trx) => {
      await trx.insertInto('notifications').values({ user_id: 'tx-user', title: 'in tx', body: '' }).execute();
      insideTransaction.resolve();
      await mayFinish.promise;
      throw new Error('roll back');
    });
    await insideTransaction.promise;
    // This query must not run inside the open transaction (it would see its row).
    let outsideSawRows: number | null = null;
    const outside = sql<{ count: number }>`select count(*)::int as count from notifications where user_id = 'tx-user'`
      .execute(database.db)
      .then((result) => (outsideSawRows = result.rows[0]!.count));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(outsideSawRows).toBeNull();
    mayFinish.resolve();
    await expect(transaction).rejects.toThrow('roll back');
    await outside;
    expect(outsideSawRows).toBe(0);
  });

  it('records migrations so a second run applies nothing', async () => {
    expect(await migrate(database)).toEqual([]);
  });
});
