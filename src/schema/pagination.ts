import type { ObjectRef } from '@pothos/core';
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
export function pageSize(first: number | null | undefined, fallback: number, max: number): number {
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
export function toPage<Node>(rows: Node[], size: number): Page<Node> {
  return { nodes: rows.slice(0, size), hasNextPage: rows.length > size };
}
