import { sql } from 'kysely';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { PartnerRow } from './types.js';
import { isAnyOf } from './any-of.js';

/** The sums of the partners' earnings ledgers, in cents; partners without entries are left out. */
export async function earningsTotals(db: Db, partnerIds: readonly string[]): Promise<Map<string, number>> {
  if (partnerIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('earnings')
    .select(['partner_id', sql<string>`sum(amount_cents)`.as('total')])
    .where(isAnyOf('partner_id', partnerIds, 'text'))
    .groupBy('partner_id')
    .execute();
  return new Map(rows.map((row) => [row.partner_id, Number(row.total)]));
}

export interface PartnerLoaders {
  partner: BatchLoader<string, PartnerRow>;
  earningsTotalCents: BatchLoader<string, number>;
}

/** Batched, uncached reads: a page of orders or one event reaching many subscribers asks once. */
export const partnerLoaders = perDatabase(
  (db): PartnerLoaders => ({
    partner: createBatchLoader(async (ids) => new Map((await db.selectFrom('partners').selectAll().where(isAnyOf('id', ids, 'text')).execute()).map((row) => [row.id, row]))),
    earningsTotalCents: createBatchLoader((ids) => earningsTotals(db, ids)),
  }),
);
