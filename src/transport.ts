/**
 * Whether an operation came over HTTP (a query, a mutation or an SSE stream):
 * those carry Yoga's fetch Request in `request`. graphql-ws operations carry
 * none (see server.ts onSubscribe).
 */
export function overHttp(context: unknown): boolean {
  const request = (context as { request?: { headers?: { get?: unknown } } } | null)?.request;
  return typeof request?.headers?.get === 'function';
}
