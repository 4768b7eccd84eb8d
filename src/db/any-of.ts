import { sql, type RawBuilder } from 'kysely';

/**
 * `column = any($1::type[])`: a list of ids as one array parameter. With
 * `in ($1, $2, …)` every list length is its own statement text, so its own
 * prepared statement (prepared-statements.ts) on every connection, planned
 * again for each new length, and a process's loaders alone would reach the
 * cap of named statements after which every new text runs unprepared.
 */
export function isAnyOf(column: string, values: readonly string[], type: 'bigint' | 'text'): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} = any(${sql.val([...values])}::${sql.raw(type)}[])`;
}
