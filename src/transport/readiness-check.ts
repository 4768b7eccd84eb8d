import type { Plugin } from 'graphql-yoga';

/**
 * Yoga's useReadinessCheck, without its URLPattern: that plugin tests every
 * request's URL against a pattern (the polyfill's regular expressions were a
 * few percent of the CPU of each GraphQL request, measured). For a literal
 * path the pattern matches exactly when the pathname is that path, so the
 * same requests get the same answers: 200 when `check` says ready, 503 when not.
 * The pathname is cut out of the URL string: the adapter's `url` parses the
 * whole URL when read, for every request.
 */
export function useReadinessCheck({ endpoint, check }: { endpoint: string; check: () => Promise<boolean> }): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (!request.url.endsWith(endpoint) && pathnameOf(request.url) !== endpoint) return;
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

/** `/ready` of `http://host/ready?x=1`. */
function pathnameOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  const end = url.search(/[?#]/);
  return url.slice(start, end === -1 ? undefined : end);
}
