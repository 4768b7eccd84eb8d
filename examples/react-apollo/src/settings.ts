/** What the page connects with: from the URL query (as `npm run seed` prints it) or the sign-in form. */
export interface Settings {
  /** The API's HTTP endpoint; the WebSocket URL is derived from it. */
  endpoint: string;
  token: string | null;
  /** The order the tracker opens first. */
  orderId: string | null;
}

/**
 * Without `?endpoint=` the page talks to /graphql on its own origin, which
 * `npm run dev` and `npm run preview` forward to the API (vite.config.ts);
 * behind a reverse proxy that serves both, the same build works unchanged.
 */
export function readSettings(location: { search: string; origin: string }): Settings {
  const query = new URLSearchParams(location.search);
  const value = (name: string) => query.get(name)?.trim() || null;
  return {
    endpoint: value('endpoint') ?? new URL('/graphql', location.origin).toString(),
    token: value('token'),
    orderId: value('order'),
  };
}

/** http(s)://host/graphql → ws(s)://host/graphql: graphql-ws and HTTP share the endpoint. */
export function webSocketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
