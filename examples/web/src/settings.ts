/** What the page connects with: from the URL query (as `npm run seed` prints it) or the settings form. */
export interface Settings {
  /** The API's HTTP endpoint; the WebSocket URL is derived from it. */
  endpoint: string;
  token: string | null;
  orderId: string | null;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4000/graphql';

export function readSettings(search: string): Settings {
  const query = new URLSearchParams(search);
  const value = (name: string) => query.get(name)?.trim() || null;
  return { endpoint: value('endpoint') ?? DEFAULT_ENDPOINT, token: value('token'), orderId: value('order') };
}

/** http(s)://host/graphql → ws(s)://host/graphql: graphql-ws and HTTP share the endpoint. */
export function webSocketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
