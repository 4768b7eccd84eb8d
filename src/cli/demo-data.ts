import { signToken, type TokenClaims } from '../auth/token.js';

/**
 * Demo data through the public API, so it works on either backend and while
 * a server runs (embedded PGlite can be opened by one process only): users
 * and the partner are provisioned from their tokens' claims on first
 * request, as they would be in production.
 */
export interface SeedOptions {
  /** The API's HTTP endpoint, e.g. http://127.0.0.1:4000/graphql. */
  apiUrl: string;
  /** The key the server verifies HS256 tokens with (JWT_SECRET or the development secret). */
  secret: Uint8Array;
  /** @default '12h' */
  expiresIn?: string | number;
}

export interface SeededUser {
  claims: TokenClaims;
  token: string;
}

export interface SeedResult {
  customer: SeededUser;
  partner: SeededUser;
  admin: SeededUser;
  partnerId: string;
  orderId: string;
  orderDescription: string;
}

export const DEMO_CLAIMS = {
  customer: { sub: 'demo-customer', role: 'customer', name: 'Casey Customer' },
  partner: { sub: 'demo-courier', role: 'partner', name: 'Pat Courier', partner_id: 'demo-partner', partner_name: 'Speedy Couriers' },
  admin: { sub: 'demo-admin', role: 'admin', name: 'Ada Admin' },
} as const satisfies Record<string, TokenClaims>;

const ORDER_DESCRIPTION = 'Deliver a sofa to 12 Harbour Street';
const ORDER_TOTAL_CENTS = 4500;

export async function seed(options: SeedOptions): Promise<SeedResult> {
  const expiresIn = options.expiresIn ?? '12h';
  const user = async (claims: TokenClaims): Promise<SeededUser> => ({ claims, token: await signToken(options.secret, claims, expiresIn) });
  const customer = await user(DEMO_CLAIMS.customer);
  const partner = await user(DEMO_CLAIMS.partner);
  const admin = await user(DEMO_CLAIMS.admin);
  const call = <T>(token: string, query: string, variables: Record<string, unknown> = {}) => graphqlCall<T>(options.apiUrl, token, query, variables);

  // First sight of each token provisions its users row (and the partners row).
  for (const seeded of [customer, partner, admin]) await call<{ me: { id: string } }>(seeded.token, 'query { me { id } }');

  const created = await call<{ createOrder: { id: string } }>(
    customer.token,
    'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
    { input: { description: ORDER_DESCRIPTION, totalCents: ORDER_TOTAL_CENTS } },
  );
  const orderId = created.createOrder.id;
  const partnerId = DEMO_CLAIMS.partner.partner_id;
  await call(admin.token, 'mutation ($orderId: ID!, $partnerId: ID) { assignOrder(orderId: $orderId, partnerId: $partnerId) { id } }', { orderId, partnerId });
  return { customer, partner, admin, partnerId, orderId, orderDescription: ORDER_DESCRIPTION };
}

/** The example page's address for one user: endpoint, token and order travel in the query. */
export function exampleUrl(webUrl: string, apiUrl: string, token: string, orderId: string): string {
  const url = new URL(webUrl);
  url.searchParams.set('endpoint', apiUrl);
  url.searchParams.set('token', token);
  url.searchParams.set('order', orderId);
  return url.toString();
}

export class SeedError extends Error {
  override name = 'SeedError';
}

async function graphqlCall<T>(apiUrl: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new SeedError(`cannot reach the API at ${apiUrl} (is the server running?): ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = (await response.json()) as { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
  if (result.errors?.length || !result.data) {
    const errors = (result.errors ?? []).map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; ');
    throw new SeedError(`${apiUrl} answered ${response.status}: ${errors || 'no data'}`);
  }
  return result.data;
}
