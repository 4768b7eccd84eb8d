/**
 * What the HTTP transport knows of a request (its id, whether its body was
 * over the limit), carried by the fetch Request it hands Yoga rather than in
 * Yoga's server context: the adapter copies a given server context property by
 * property, through descriptors, into a new object on every request (about
 * 6 % of a small request's CPU, measured with bench/http.ts), and without one
 * it makes a plain object. The plugins and the context factory read it here.
 */
export interface RequestFacts {
  requestId?: string;
  /** readBody() found the body past its limit (limits/request-body.ts). */
  bodyTooLarge?: boolean;
}

/**
 * The property of a Request (transport/node-request.ts) that holds its facts. A property the Request is
 * built with, not a WeakMap entry: every WeakMap entry is an ephemeron the garbage collector has to
 * visit, for every request.
 */
export const REQUEST_FACTS = Symbol('requestFacts');

/** The request's facts, else what the server context carries (graphql-ws, and multipart bodies through the adapter). */
export function requestFacts(request: object | undefined, serverContext: RequestFacts): RequestFacts {
  return (request as { [REQUEST_FACTS]?: RequestFacts } | undefined)?.[REQUEST_FACTS] ?? serverContext;
}
