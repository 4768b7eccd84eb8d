import type { Plugin } from 'graphql-yoga';

/**
 * Yoga's useReadinessCheck, without its URLPattern: that plugin tests every
 * request's URL against a pattern (the polyfill's regular expressions were a
 * few percent of the CPU of each GraphQL request, measured). For a literal
 * path the pattern matches exactly when the pathname is that path, so the
 * same requests get the same answers: 200 when `check` says ready, 503 when not.
 */
export function useReadinessCheck({ endpoint, check }: { endpoint: string; check: () => Promise<boolean> }): Plugin {
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!request.url.endsWith(endpoint) && url.pathname !== endpoint) return;
      return check().then(
        (ready) => endResponse(new fetchAPI.Response(null, { status: ready ? 200 : 503 })),
        (error: unknown) =>
          endResponse(
            new fetchAPI.Response(error instanceof Error ? error.message : null, {
              status: 503,
              headers: error instanceof Error ? { 'content-type': 'text/plain; charset=utf-8' } : {},
            }),
          ),
      );
    },
  };
}
