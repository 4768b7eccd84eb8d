import type { GraphiQLOptions } from 'graphql-yoga';
import { signToken } from '../auth/token.js';
import type { Config } from '../config.js';

/** Opens on this API's own operations: a subscription in one tab, the mutation that feeds it in the next. */
const EXAMPLE_TABS: NonNullable<GraphiQLOptions['defaultTabs']> = [
  {
    query: `# Your notifications, live. Run this, then run the mutation of the next tab.
subscription MyNotifications {
  notificationAdded {
    id
    title
    body
    kind
    priority
    createdAt
  }
}
`,
  },
  {
    query: `# A notification to every user (you included): the first tab receives it.
mutation Broadcast {
  sendNotification(input: { title: "Hello", body: "From GraphiQL" })
}
`,
  },
  {
    query: `# Who you are, as your token says, and how many notifications you have not read.
query Me {
  me {
    id
    displayName
    role
  }
  unreadNotificationCount
}
`,
  },
];

/** How long a development admin token lives; a new one is signed when less than an hour is left. */
const DEVELOPMENT_TOKEN_LIFETIME_S = 12 * 3600;
const RENEW_BEFORE_S = 3600;

export interface DevelopmentAdmin {
  /** A token for the development admin, the same one until it nears its expiry. */
  token(): Promise<string>;
}

/** With the development secret only (never in production): an admin token to print at start and prefill in GraphiQL. */
export function developmentAdmin(config: Config): DevelopmentAdmin | null {
  const jwt = config.jwt;
  if (jwt.kind !== 'secret' || !jwt.development) return null;
  let current: { token: Promise<string>; expiresAt: number } | null = null;
  return {
    token() {
      const now = Date.now() / 1000;
      if (!current || current.expiresAt - now < RENEW_BEFORE_S) {
        const token = signToken(jwt.secret, { sub: 'dev-admin', role: 'admin', name: 'Development admin' }, `${DEVELOPMENT_TOKEN_LIFETIME_S}s`);
        current = { token, expiresAt: now + DEVELOPMENT_TOKEN_LIFETIME_S };
      }
      return current.token;
    },
  };
}

/**
 * GraphiQL's page, when it is on: subscriptions over SSE (the headers editor's
 * Authorization travels with each request, while over WebSocket GraphiQL
 * would send an empty connection_init and get 4403), the example tabs, and in
 * development the headers prefilled with the development admin's token.
 */
export function graphiqlOptions(config: Config, admin: DevelopmentAdmin | null): (() => Promise<GraphiQLOptions>) | false {
  if (!config.graphiql) return false;
  return async () => {
    const headers = admin ? JSON.stringify({ Authorization: `Bearer ${await admin.token()}` }, null, 2) : undefined;
    return {
      subscriptionsProtocol: 'SSE',
      title: 'Realtime marketplace API',
      defaultTabs: EXAMPLE_TABS.map((tab) => (headers ? { ...tab, headers } : tab)),
      ...(headers ? { headers, defaultHeaders: headers } : {}),
    };
  };
}
