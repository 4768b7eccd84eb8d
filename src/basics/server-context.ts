/**
 * What the HTTP transport knows of a request (its id, whether its body was
 * over the limit), kept beside the fetch Request it hands Yoga rather than in
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

const factsByRequest = new WeakMap<object, RequestFacts>();

export function rememberRequestFacts(request: object, facts: RequestFacts): void {
  factsByRequest.set(request, facts);
}

/** The request's facts, else what the server context carries (graphql-ws, and multipart bodies through the adapter). */
export function requestFacts(request: object | undefined, serverContext: RequestFacts): RequestFacts {
  return (request && factsByRequest.get(request)) ?? serverContext;
}
