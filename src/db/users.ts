import type { Viewer } from '../auth/viewer.js';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { PartnerRow, UserRow } from './types.js';
import { isAnyOf } from './any-of.js';

/** The built-in author of SYSTEM messages (its row comes from migrations/…_chat_extras.sql); no token may name it. */
export const SYSTEM_USER_ID = 'system';

/** Creates or refreshes the user (and partner) a token describes: the identity provider is the source of truth. */
export async function provisionViewer(db: Db, viewer: Viewer): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (viewer.partnerId) {
      await trx
        .insertInto('partners')
        .values({ id: viewer.partnerId, business_name: viewer.partnerName ?? viewer.partnerId })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet((eb) => ({ business_name: eb.ref('excluded.business_name'), updated_at: new Date() }))
            .where((eb) => eb('partners.business_name', 'is distinct from', eb.ref('excluded.business_name'))),
        )
        .execute();
    }
    await trx
      .insertInto('users')
      .values({ id: viewer.id, role: viewer.role, display_name: viewer.displayName, partner_id: viewer.partnerId })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) => ({
            role: eb.ref('excluded.role'),
            display_name: eb.ref('excluded.display_name'),
            partner_id: eb.ref('excluded.partner_id'),
            updated_at: new Date(),
          }))
          .where((eb) =>
            eb.or([
              eb('users.role', 'is distinct from', eb.ref('excluded.role')),
              eb('users.display_name', 'is distinct from', eb.ref('excluded.display_name')),
              eb('users.partner_id', 'is distinct from', eb.ref('excluded.partner_id')),
            ]),
          ),
      )
      .execute();
  });
}

export async function findUsers(db: Db, ids: readonly string[]): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('users').selectAll().where(isAnyOf('id', ids, 'text')).execute();
}

export async function findPartner(db: Db, id: string): Promise<PartnerRow | undefined> {
  return db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Users by id, batched per tick; not kept past the batch, since names change with tokens. */
export const userLoader = perDatabase(
  (db): BatchLoader<string, UserRow> => createBatchLoader(async (ids) => new Map((await findUsers(db, ids)).map((row) => [row.id, row]))),
);
