import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { persistedQueryNotFound, persistedQueryOnly } from '../errors.js';
import type { PersistedDocuments } from '../basics/persisted-documents.js';

/** What a request names its document by, on every transport. */
interface NamedDocument {
  query?: string | null;
  documentId?: unknown;
  extensions?: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `documentId` (GraphQL over HTTP's persisted documents) or Apollo's `extensions.persistedQuery.sha256Hash`. */
export function documentIdOf(params: NamedDocument): string | null {
  if (typeof params.documentId === 'string' && params.documentId !== '') return params.documentId;
  const persisted = isRecord(params.extensions) ? params.extensions['persistedQuery'] : undefined;
  const hash = isRecord(persisted) ? persisted['sha256Hash'] : undefined;
  return typeof hash === 'string' && hash !== '' ? hash : null;
}

/** Yoga's GET parser keeps only query, variables, operationName and extensions: `?documentId=` is read here. */
function documentIdOfUrl(request: Request): string | null {
  if (request.method !== 'GET') return null;
  return new URL(request.url).searchParams.get('documentId') || null;
}

/** Refusals travel with an HTTP status as Apollo Router answers them: 404 for an unknown id, 400 for text. */
function withStatus(error: GraphQLError, status: number): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status } } });
}

/**
 * HTTP (POST, GET) and SSE with TRUSTED_DOCUMENTS: Yoga's persisted operations
 * plugin swaps the id for the document's text before anything parses it, so
 * the operation limits and validation apply to that text as to any other.
 * A request that sends text, or names no known document, is refused in its
 * `onParams`: no context is built and nothing runs.
 */
export function useTrustedDocuments(documents: PersistedDocuments): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (id) => documents.get(id),
    allowArbitraryOperations: false,
    extractPersistedOperationId: (params, request) => documentIdOf(params) ?? documentIdOfUrl(request),
    customErrors: {
      notFound: () => withStatus(persistedQueryNotFound(), 404),
      keyNotFound: () => withStatus(persistedQueryNotFound(), 404),
      persistedQueryOnly: () => withStatus(persistedQueryOnly(), 400),
    },
  });
}

/**
 * graphql-ws (and the legacy protocol): the operation as sent, with its trusted
 * document's text as `query` when `documents` is set, or the error that refuses
 * it (an `error` message for that operation; the connection stays open).
 */
export function withTrustedDocument<P extends NamedDocument>(params: P, documents: PersistedDocuments | null): P | GraphQLError {
  if (!documents) return params;
  if (params.query) return persistedQueryOnly();
  const id = documentIdOf(params);
  const query = id === null ? null : documents.get(id);
  if (query === null) return persistedQueryNotFound();
  return { ...params, query };
}

/** Cheap first look: only a message that mentions the type is parsed. */
const MENTIONS_SUBSCRIBE = /"subscribe"/;

/**
 * With TRUSTED_DOCUMENTS, for graphql-transport-ws sockets (ws-binding.ts): the
 * contract lets a `subscribe` that names its document by id leave `query` out,
 * but graphql-ws's `validateMessage` closes the connection with 4400 unless
 * `query` is a string. Such a message reaches graphql-ws with `query: ''`
 * instead (what its own client sends); anything else as it came.
 */
export function withEmptyQuery(text: string): string {
  if (!MENTIONS_SUBSCRIBE.test(text)) return text;
  try {
    const message: unknown = JSON.parse(text);
    if (!isRecord(message) || message['type'] !== 'subscribe' || !isRecord(message['payload']) || message['payload']['query'] != null) return text;
    return JSON.stringify({ ...message, payload: { ...message['payload'], query: '' } });
  } catch {
    // Not JSON (graphql-ws answers 4400 itself), or too deep to write back: as it came.
    return text;
  }
}
