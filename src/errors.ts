import { GraphQLError } from 'graphql';

/** The `extensions.code` values of CONTRACT.md "Errors". */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'SLOW_CONSUMER'
  | 'RESUME_EXPIRED'
  | 'SERVICE_UNAVAILABLE'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_ONLY';

function coded(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const unauthenticated = (why = 'A valid token is required') => coded('UNAUTHENTICATED', why);

export const forbidden = (why = 'Not allowed') => coded('FORBIDDEN', why);

/** Also the answer for things that exist but may not be seen: no existence leaks. */
export const notFound = (what: string) => coded('NOT_FOUND', `${what} not found`);

export const badInput = (field: string, why: string) => coded('BAD_USER_INPUT', `${field}: ${why}`, { field });

export const rateLimited = (retryAfterMs: number) =>
  coded('RATE_LIMITED', `Too many requests; retry in ${retryAfterMs} ms`, { retryAfterMs });

/** A cap frees only when its holder closes something, so the retry hint is a guess for clients that back off. */
const CAP_RETRY_HINT_MS = 1000;

/** RATE_LIMITED for a cap on things held open (connections, operations), not on a rate. */
export const capReached = (message: string, limit: number) => coded('RATE_LIMITED', message, { retryAfterMs: CAP_RETRY_HINT_MS, limit });

/** WebSocket close codes of CONTRACT.md besides graphql-ws's own (its `CloseCode`), with their reasons. */
export const WS_CLOSE = {
  /** 1001 Going Away: the process stops; clients reconnect elsewhere and resume. */
  shuttingDown: { code: 1001, reason: 'Server shutting down' },
  /** 1013 Try Again Later: a slow consumer. */
  slowConsumer: { code: 1013, reason: 'Slow consumer' },
} as const;

/** A subscriber whose unread events passed the buffer limit; its WebSocket is closed with 1013. */
export const slowConsumer = () => coded('SLOW_CONSUMER', 'The client stopped reading; its subscription was dropped');

export function isSlowConsumer(error: unknown): boolean {
  return error instanceof GraphQLError && error.extensions['code'] === 'SLOW_CONSUMER';
}

/** A `since` older than the replay window: the client should refetch and subscribe without it. */
export const resumeExpired = (field: string, hours: number) =>
  coded('RESUME_EXPIRED', `${field} is older than the ${hours} h replay window; refetch, then subscribe without it`, { field });

/** TRUSTED_DOCUMENTS is set and the request names no document of it (or none at all). */
export const persistedQueryNotFound = () =>
  coded('PERSISTED_QUERY_NOT_FOUND', 'No trusted document has this id; name one by documentId (or extensions.persistedQuery.sha256Hash)');

/** TRUSTED_DOCUMENTS is set and the request sent a document's text. */
export const persistedQueryOnly = () => coded('PERSISTED_QUERY_ONLY', 'Only trusted documents run here: send the document id (documentId), not its text');

/** The database or PubSub cannot be reached right now; the client may retry. */
export const serviceUnavailable = () => coded('SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly');

const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Whether an error means "the database (or Redis) is not reachable" rather than a bug. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NETWORK_CODES.has(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|Stream isn't writeable/i.test(error.message);
}
