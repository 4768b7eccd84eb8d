/**
 * Our own connections rather than @pothos/plugin-relay's: the contract's
 * PageInfo is `hasNextPage` and `endCursor` only and its paged fields take
 * `first` and `after` only, while the plugin's connections add `last`,
 * `before`, `hasPreviousPage` and `startCursor`, which the contract does not have.
 */
import type { ArgBuilder, ObjectRef } from '@pothos/core';
import { badInput } from '../errors.js';
import { builder, type Types } from './builder.js';

export interface Page<Node> {
  nodes: Node[];
  hasNextPage: boolean;
}

export const PageInfo = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

/** Cursors are opaque to clients: base64url of the id they point after. */
export function encodeCursor(id: string): string {
  return Buffer.from(`c:${id}`).toString('base64url');
}

const MAX_BIGINT = 2n ** 63n - 1n;

/** Decodes `after`; a cursor this server did not hand out is BAD_USER_INPUT. */
export function decodeCursor(cursor: string | null | undefined, field = 'after'): string | null {
  if (cursor === null || cursor === undefined) return null;
  const decoded = Buffer.from(cursor, 'base64url').toString();
  const match = /^c:(\d{1,19})$/.exec(decoded);
  // 19 digits may pass bigint's range, which the database answers with an error, not an empty page.
  if (!match || BigInt(match[1]!) > MAX_BIGINT) throw badInput(field, 'is not a cursor this server issued');
  return match[1]!;
}

/** Validates `first` against the configured page size bound. */
function pageSize(first: number | null | undefined, fallback: number, max: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw badInput('first', `must be between 1 and ${max}`);
  return size;
}

/** Builds `<Name>Edge` and `<Name>Connection` for a node type whose rows have an `id`. */
export function connectionType<Node extends { id: string }>(name: string, node: ObjectRef<Types, Node>) {
  const Edge = builder.objectRef<Node>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.string({ resolve: (row) => encodeCursor(row.id) }),
      node: t.field({ type: node, resolve: (row) => row as never }),
    }),
  });
  return builder.objectRef<Page<Node>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (page) => page.nodes }),
      pageInfo: t.field({
        type: PageInfo,
        resolve: (page) => ({
          hasNextPage: page.hasNextPage,
          endCursor: page.nodes.length ? encodeCursor(page.nodes[page.nodes.length - 1]!.id) : null,
        }),
      }),
    }),
  });
}

/** Splits a `first + 1` query result into a page. */
function toPage<Node>(rows: Node[], size: number): Page<Node> {
  return { nodes: rows.slice(0, size), hasNextPage: rows.length > size };
}

/** The arguments of a paged field: `first`, `defaultFirst` when left out, and `after`, a cursor. */
export function pageArgs(arg: ArgBuilder<Types>, defaultFirst: number) {
  return { first: arg.int({ defaultValue: defaultFirst }), after: arg.string() };
}

/** What a repository is asked for one page, newest first. */
export interface PageQuery {
  /** Rows to fetch: one more than the page, to learn hasNextPage. */
  limit: number;
  /** Continue with rows older than this id. */
  beforeId: string | null;
}

/** One page of a paged field: checks `first` (up to `maxFirst`) and `after`, then asks `list` for the rows. */
export async function loadPage<Node>(
  args: { first?: number | null; after?: string | null },
  defaultFirst: number,
  maxFirst: number,
  list: (query: PageQuery) => Promise<Node[]>,
): Promise<Page<Node>> {
  const size = pageSize(args.first, defaultFirst, maxFirst);
  const rows = await list({ limit: size + 1, beforeId: decodeCursor(args.after) });
  return toPage(rows, size);
}
