import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { CorsConfig } from '../config.js';

type CorsOptions = { origin: string[]; methods: string[]; credentials: boolean; maxAge: number } | false;

/**
 * CORS from CORS_ORIGINS. An origin not on the list gets no CORS headers at
 * all (rather than Yoga's `Access-Control-Allow-Origin: null`, which a
 * sandboxed iframe's `Origin: null` would match), and credentials are only
 * ever allowed for listed origins.
 */
export function corsPolicy(config: CorsConfig): (request: Request) => CorsOptions {
  const listed = config.origins === '*' ? null : new Set(config.origins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || (listed !== null && !listed.has(origin))) return false;
    return { origin: [origin], methods: ['GET', 'POST', 'OPTIONS'], credentials: config.credentials, maxAge: 600 };
  };
}

/**
 * Headers a browser cannot send cross-origin without a CORS preflight. A GET,
 * multipart or form request without one of them is refused (403) before it
 * runs, so a cross-site page cannot fire a "simple" request at the API.
 * `authorization` is on the list because it is not CORS-safelisted either,
 * and it is our only credential: a request that carries it was preflighted
 * (or came from a non-browser client), so Apollo Client, urql and graphql-sse
 * keep working, over GET too. POST `application/json` is always preflighted.
 */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight', 'authorization'];

export function useCsrfPrevention(): Plugin {
  const csrf = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse(payload) {
      try {
        return csrf.onRequestParse?.(payload);
      } catch {
        // A refused request carries no Authorization (it is on the list), so it is also
        // unauthenticated: answered with the contract's code, as any request without a token is.
        throw createGraphQLError(
          'A valid token is required; a request without one must carry a CSRF header (x-graphql-yoga-csrf) to be a simple GET, form or multipart request',
          { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } },
        );
      }
    },
  };
}
