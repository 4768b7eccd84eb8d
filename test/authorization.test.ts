import { readFileSync } from 'node:fs';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildSchema, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseConnect, wsConnect, type GraphQLErrorShape, type Subscription, type WsConnection } from './support/clients.js';
import { eventually, within } from './support/deferred.js';
import { bearer } from './support/raw-ws.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { snapshot } from './support/snapshot.js';
import { createAssignedOrder, createWorld, message, person, ROLES, type Person, type Role, type World } from './support/world.js';

/*
 * The authorization matrix: for every root field of the schema and every role
 * of CONTRACT.md "Rules of access", what the role gets. The table (MATRIX) is
 * the expectation; each row's probe (PROBES) runs the cell for real (HTTP for
 * queries and mutations, graphql-ws for subscriptions, SSE for an anonymous
 * subscriber) and names what came back in the table's words. A root field
 * without a row fails the test.
 *
 * Outcomes:
 *   data            the answer is, or includes, the row's target (named in the row)
 *   own             it succeeds with the caller's own things only, never the target
 *   empty           an empty list
 *   null            `order` / `conversation` answer null: no existence leak
 *   NOT_FOUND       as if the target did not exist: no existence leak
 *   FORBIDDEN       a known caller who may not do this at all
 *   UNAUTHENTICATED no token (over graphql-ws: connection_init refused with 4403)
 * Every answer with data is also checked to hold nothing the caller may not see.
 */

type Outcome = 'data' | 'own' | 'empty' | 'null' | 'NOT_FOUND' | 'FORBIDDEN' | 'UNAUTHENTICATED';
type Cells = readonly [customer: Outcome, otherCustomer: Outcome, partner: Outcome, otherPartner: Outcome, admin: Outcome, anonymous: Outcome];
type Row = readonly [name: string, target: string, cells: Cells];

/**
 * customer: the target's owner; otherCustomer: a customer who shares only a
 * direct conversation with customer; partner: a user of the partner the
 * target order is assigned to; otherPartner: a user of another partner;
 * admin; anonymous: no token. `field#variant` rows ask the same field about
 * another target.
 */
// prettier-ignore
const MATRIX: readonly Row[] = [
  // name                           target                                                               customer      otherCustomer partner       otherPartner  admin         anonymous
  ['me',                            'the caller',                                                       ['own',        'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['notifications',                 "customer's notification (everyone's list is their own inbox)",     ['data',       'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['unreadNotificationCount',       "the caller's unread count",                                        ['own',        'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['order',                         "customer's order",                                                 ['data',       'null',       'data',       'null',       'data',       'UNAUTHENTICATED']],
  ['orders',                        "customer's order",                                                 ['data',       'empty',      'data',       'empty',      'data',       'UNAUTHENTICATED']],
  ['conversation',                  "the order's conversation",                                         ['data',       'null',       'data',       'null',       'data',       'UNAUTHENTICATED']],
  ['conversation#direct',           'the direct conversation of customer and otherCustomer',            ['data',       'data',       'null',       'null',       'data',       'UNAUTHENTICATED']],
  ['conversations',                 "the order's conversation",                                         ['data',       'own',        'data',       'empty',      'data',       'UNAUTHENTICATED']],
  ['presence',                      "customer's presence, asked with everyone's",                       ['data',       'data',       'data',       'own',        'data',       'UNAUTHENTICATED']],
  ['notificationPreferences',       "the caller's preferences",                                         ['own',        'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['adminDashboard',                'the marketplace figures',                                          ['FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'data',       'UNAUTHENTICATED']],
  ['partnerDashboard',              "the caller's partner's figures (partner's include the order)",      ['FORBIDDEN',  'FORBIDDEN',  'data',       'own',        'FORBIDDEN',  'UNAUTHENTICATED']],
  ['activity',                      'the outbox',                                                       ['FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'data',       'UNAUTHENTICATED']],

  // markRead marks "only the caller's own" (schema): someone else's notification does not exist for them, an admin included.
  ['markRead',                      "a new notification of customer's",                                 ['data',       'NOT_FOUND',  'NOT_FOUND',  'NOT_FOUND',  'NOT_FOUND',  'UNAUTHENTICATED']],
  ['markAllRead',                   "a new unread notification of customer's",                          ['data',       'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['sendNotification',              'a notification to customer',                                       ['FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'data',       'UNAUTHENTICATED']],
  ['createOrder',                   'a new order of the caller',                                        ['own',        'own',        'FORBIDDEN',  'FORBIDDEN',  'own',        'UNAUTHENTICATED']],
  ['assignOrder',                   "a new order of customer's, to partner",                            ['FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'data',       'UNAUTHENTICATED']],
  ['updateOrderStatus',             "a new PENDING order of customer's at partner, to CONFIRMED",       ['FORBIDDEN',  'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['updateOrderStatus#cancel',      "a new PENDING order of customer's at partner, to CANCELLED",       ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['updateOrderLocation',           "customer's order",                                                 ['FORBIDDEN',  'NOT_FOUND',  'data',       'NOT_FOUND',  'FORBIDDEN',  'UNAUTHENTICATED']],
  ['openDirectConversation',        'a conversation of the caller with a stranger',                     ['data',       'data',       'data',       'data',       'data',       'UNAUTHENTICATED']],
  ['orderConversation',             "customer's order's conversation",                                  ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['sendMessage',                   "a message in the order's conversation",                            ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  // An admin sees a direct conversation but does not write in one (known, not allowed).
  ['sendMessage#direct',            'a message in the direct conversation',                             ['data',       'data',       'NOT_FOUND',  'NOT_FOUND',  'FORBIDDEN',  'UNAUTHENTICATED']],
  ['markConversationRead',          "the order's conversation, read up to its last message",            ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['setTyping',                     "typing in the order's conversation",                               ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['setNotificationPreference',     "the caller's SYSTEM preference",                                   ['own',        'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],

  // Subscriptions: the first event (or the error) after the target happens.
  ['notificationAdded',             "a notification to customer, then one to the caller",               ['data',       'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['unreadCountChanged',            "the caller's unread count",                                        ['own',        'own',        'own',        'own',        'own',        'UNAUTHENTICATED']],
  ['orderUpdated',                  "customer's order",                                                 ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['orderUpdated#board',            "a change of customer's order, then one of the caller's own",       ['data',       'own',        'data',       'own',        'data',       'UNAUTHENTICATED']],
  ['partnerEvent',                  "an order assigned to partner, then one to the caller's partner",   ['FORBIDDEN',  'FORBIDDEN',  'data',       'own',        'FORBIDDEN',  'UNAUTHENTICATED']],
  ['messageAdded',                  "a message in the order's conversation",                            ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['messageAdded#direct',           'a message in the direct conversation',                             ['data',       'data',       'NOT_FOUND',  'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['typing',                        "someone else typing in the order's conversation",                  ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['readReceiptChanged',            "someone else's read position in the order's conversation",         ['data',       'NOT_FOUND',  'data',       'NOT_FOUND',  'data',       'UNAUTHENTICATED']],
  ['presenceChanged',               "customer's presence, asked with everyone's",                       ['data',       'data',       'data',       'own',        'data',       'UNAUTHENTICATED']],
  ['activityAdded',                 'the next outbox event',                                            ['FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'FORBIDDEN',  'data',       'UNAUTHENTICATED']],
];

const SCHEMA = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const ROOT_FIELDS = [SCHEMA.getQueryType()!, SCHEMA.getMutationType()!, SCHEMA.getSubscriptionType()!].flatMap((type) => Object.keys(type.getFields()));
const fieldOf = (name: string) => name.split('#')[0]!;

const ERROR_OUTCOMES: readonly string[] = ['NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED'];

/**
 * One backend's fixtures, a world per kind of row so rows cannot change each
 * other's answers: `read` for queries (nothing writes there), `write` for
 * mutations (each cell adds its own targets), `live` for subscriptions.
 */
interface Ctx {
  t: TestServer;
  read: World;
  write: World;
  live: World;
  /** Takes part in nothing; asked about in presence rows. */
  stranger: Person;
  /** A customer whose orders show the other partner its own events; never asked about. */
  witness: Person;
  clients: WsConnection[];
}

type Json = Record<string, unknown>;
type Answer = { data?: Json | null; errors?: GraphQLErrorShape[] };
/** An outcome of the table, or a description of anything else (which matches no cell). */
type Observed = Outcome | `unexpected: ${string}`;

const unexpected = (what: string, value?: unknown): Observed => `unexpected: ${what}${value === undefined ? '' : ` ${JSON.stringify(value).slice(0, 300)}`}`;

async function ask(ctx: Ctx, world: World, role: Role, query: string, variables: Json = {}): Promise<Answer> {
  const jwt = world.tokenOf(role);
  const response = await fetch(ctx.t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status !== 200) return { errors: [{ message: `HTTP ${response.status}: ${await response.text()}` }] };
  return (await response.json()) as Answer;
}

/** An error answer in the table's words; null when there is no error. */
function errorOutcome(errors: readonly GraphQLErrorShape[] | undefined): Observed | null {
  if (!errors?.length) return null;
  const code = errors[0]!.extensions?.['code'];
  return errors.length === 1 && typeof code === 'string' && ERROR_OUTCOMES.includes(code) ? (code as Outcome) : unexpected('errors', errors);
}

/** Asks over HTTP and classifies `data[field]` with `classify` (null answers are 'null'). */
async function query(ctx: Ctx, world: World, role: Role, field: string, document: string, variables: Json, classify: (value: never) => Observed | Promise<Observed>): Promise<Observed> {
  const answer = await ask(ctx, world, role, document, variables);
  const failed = errorOutcome(answer.errors);
  if (failed) return failed;
  const value = answer.data?.[field];
  if (value === null) return 'null';
  if (value === undefined) return unexpected('no data', answer);
  return classify(value as never);
}

/** A mutation cell: besides its outcome, a refused call must have changed no stored row. */
async function mutate(ctx: Ctx, role: Role, field: string, document: string, variables: Json, classify: (value: never) => Observed | Promise<Observed>): Promise<Observed> {
  const before = await snapshot(ctx.t);
  const observed = await query(ctx, ctx.write, role, field, document, variables, classify);
  if (ERROR_OUTCOMES.includes(observed) && JSON.stringify(await snapshot(ctx.t)) !== JSON.stringify(before)) return unexpected(`${observed}, but stored rows changed`);
  return observed;
}

const idsOf = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((edge) => edge.node.id);

async function subscriptionGauge(ctx: Ctx, field: string): Promise<number> {
  const metrics = await (await fetch(ctx.t.url.replace(/\/graphql$/, '/metrics'))).text();
  const match = new RegExp(`^realtime_active_subscriptions\\{field="${field}"\\} (\\d+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : 0;
}

interface Live {
  /** The first result, classified; an error result or error message in the table's words. Then the subscription ends. */
  first(classify: (value: never) => Observed | Promise<Observed>): Promise<Observed>;
  /** The same for the first `count` results together. */
  firstOf(count: number, classify: (values: never[]) => Observed | Promise<Observed>): Promise<Observed>;
  /** Resolves once the server holds the subscription (for streams that only send what happens later). */
  subscribed(): Promise<void>;
}

const FIRST_RESULT_MS = 10_000;

/**
 * Subscribes as `role` over graphql-ws; an anonymous caller cannot open a
 * graphql-ws connection at all (4403), so it is asked over SSE too, where
 * the field itself answers, and both must say UNAUTHENTICATED.
 */
async function subscribe(ctx: Ctx, world: World, role: Role, field: string, document: string, variables: Json = {}): Promise<Live> {
  const typed = parse(document) as TypedDocumentNode<Json, Json>;
  const before = await subscriptionGauge(ctx, field);
  let subscription: Subscription<Json>;
  let refusedOverWs: Promise<Observed> | null = null;
  let release: () => Promise<void>;
  if (role === 'anonymous') {
    const sse = sseConnect(ctx.t.url, null);
    subscription = sse.subscribe(typed, variables);
    const connection = wsConnect(ctx.t.url, null);
    ctx.clients.push(connection);
    refusedOverWs = connection.closed.then(({ code }) => (code === 4403 ? 'UNAUTHENTICATED' : unexpected(`graphql-ws closed with ${code}`)));
    release = async () => sse.dispose();
  } else {
    const connection = wsConnect(ctx.t.url, bearer(world.tokenOf(role)!));
    ctx.clients.push(connection);
    subscription = connection.subscribe(typed, variables);
    release = () => connection.dispose();
  }

  const nextOutcome = async (): Promise<{ value?: unknown; failed?: Observed }> => {
    try {
      const ended = subscription.ended.promise.then(({ error }) => ({ error: error ?? 'the stream completed' }));
      const next = subscription.nextResult(FIRST_RESULT_MS).then((result) => ({ result: result as Answer }));
      let outcome: { result?: Answer; error?: unknown } = await within(Promise.race([next, ended]), FIRST_RESULT_MS + 1000, `a ${field} result`);
      // A result that arrived just before the end counts: a stream may answer with an error result, then complete.
      // (The end also wakes the pending read, which then settles at once: with that result, or failing.)
      if (outcome.error !== undefined) outcome = await next.catch(() => outcome);
      if (outcome.error !== undefined) {
        return { failed: (Array.isArray(outcome.error) && errorOutcome(outcome.error as GraphQLErrorShape[])) || unexpected('end', String(outcome.error)) };
      }
      const failed = errorOutcome(outcome.result!.errors);
      if (failed) return { failed };
      const value = outcome.result!.data?.[field];
      return value === null || value === undefined ? { failed: unexpected('no data', outcome.result) } : { value };
    } catch (error) {
      return { failed: unexpected(`nothing within ${FIRST_RESULT_MS} ms`, String(error)) };
    }
  };

  const live: Live = {
    first: (classify) => live.firstOf(1, (values) => classify(values[0] as never)),
    async firstOf(count, classify) {
      const values: unknown[] = [];
      let observed: Observed | null = null;
      while (observed === null && values.length < count) {
        const { value, failed } = await nextOutcome();
        if (failed) observed = failed;
        else values.push(value);
      }
      observed ??= await classify(values as never[]);
      if (refusedOverWs) {
        const overWs = await refusedOverWs;
        if (overWs !== observed) observed = unexpected(`SSE answered ${observed}, graphql-ws ${overWs}`);
      }
      subscription.close();
      await release();
      // The next cell waits for its own subscription by this gauge: this one must be gone from it first.
      if (role !== 'anonymous') await eventually(async () => ((await subscriptionGauge(ctx, field)) <= before ? true : undefined), `the ${field} subscription to end`);
      return observed;
    },
    async subscribed() {
      await eventually(async () => ((await subscriptionGauge(ctx, field)) > before ? true : undefined), `the ${field} subscription to be held`);
    },
  };
  return live;
}

/** Runs one cell; says what happened in the table's words. */
type Probe = (role: Role, ctx: Ctx) => Promise<Observed>;

const personOf = (world: World, role: Role): Person | null => (role === 'anonymous' ? null : world.people[role]);

/** CONTRACT.md "Rules of access" for orders, as the fixture world knows them. */
function mayList(world: World, role: Role, order: { customer: { id: string }; partner: { id: string } | null }): boolean {
  const who = personOf(world, role);
  if (!who) return false;
  if (role === 'admin') return true;
  return order.customer.id === who.id || (who.partnerId !== undefined && order.partner?.id === who.partnerId);
}

/** Who takes part in the world's conversations. */
function membersOf(world: World, conversationId: string): string[] {
  const { customer, otherCustomer, partner } = world.people;
  if (conversationId === world.orderConversationId) return [customer.id, partner.id];
  if (conversationId === world.directConversationId) return [customer.id, otherCustomer.id];
  return [];
}

/** Whom each role may see the presence of, among everyone: those it shares an order or a conversation with, and itself. */
function presenceVisible(world: World, role: Role, stranger: Person): string[] {
  const { customer, otherCustomer, partner, otherPartner, admin } = world.people;
  switch (role) {
    case 'customer':
      return [customer.id, otherCustomer.id, partner.id];
    case 'otherCustomer':
      return [otherCustomer.id, customer.id];
    case 'partner':
      return [partner.id, customer.id];
    case 'otherPartner':
      return [otherPartner.id];
    case 'admin':
      return [customer.id, otherCustomer.id, partner.id, otherPartner.id, admin.id, stranger.id];
    case 'anonymous':
      return [];
  }
}

async function notificationOwners(ctx: Ctx, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.t.sql<{ user_id: string }>(`select distinct user_id from notifications where id in (${ids.map((id) => Number(id)).join(', ')})`);
  return rows.map((row) => row.user_id);
}

async function newNotification(ctx: Ctx, world: World, to: Person, title: string): Promise<string> {
  await ask(ctx, world, 'admin', 'mutation($input: SendNotificationInput!) { sendNotification(input: $input) }', { input: { userIds: [to.id], title, body: 'matrix', priority: 'URGENT' } });
  const [row] = await ctx.t.sql<{ id: string }>('select max(id)::text as id from notifications where user_id = $1', [to.id]);
  return row!.id;
}

async function latestNotification(ctx: Ctx, who: Person): Promise<string | null> {
  const [row] = await ctx.t.sql<{ id: string | null }>('select max(id)::text as id from notifications where user_id = $1', [who.id]);
  return row?.id ?? null;
}

async function latestMessage(ctx: Ctx, conversationId: string): Promise<string> {
  const [row] = await ctx.t.sql<{ id: string }>('select max(id)::text as id from messages where conversation_id = $1', [conversationId]);
  return row!.id;
}

const ORDER_FIELDS = 'id status customer { id } partner { id }';
const CONVERSATION_FIELDS = 'id kind participants { id }';

/** The conversation answer checked against who takes part. */
function conversationOutcome(world: World, role: Role, targetId: string, conversation: { id: string; participants: { id: string }[] }): Observed {
  if (conversation.id !== targetId) return unexpected('another conversation', conversation);
  const who = personOf(world, role)!;
  const members = membersOf(world, targetId);
  if (role !== 'admin' && !members.includes(who.id)) return unexpected('a conversation the caller does not take part in', conversation);
  return 'data';
}

const PROBES: Record<string, Probe> = {
  // --- Queries (read world, HTTP) ---
  me: (role, ctx) => query(ctx, ctx.read, role, 'me', '{ me { id role } }', {}, (me: { id: string }) => (me.id === personOf(ctx.read, role)?.id ? 'own' : unexpected('someone else', me))),

  notifications: (role, ctx) =>
    query(ctx, ctx.read, role, 'notifications', '{ notifications(first: 100) { edges { node { id } } } }', {}, async (page: { edges: { node: { id: string } }[] }) => {
      const ids = idsOf(page);
      const owners = await notificationOwners(ctx, ids);
      if (owners.some((owner) => owner !== personOf(ctx.read, role)!.id)) return unexpected("someone else's notifications", owners);
      return ctx.read.notificationIds.some((id) => ids.includes(id)) ? 'data' : 'own';
    }),

  unreadNotificationCount: (role, ctx) =>
    query(ctx, ctx.read, role, 'unreadNotificationCount', '{ unreadNotificationCount }', {}, async (count: number) => {
      const [row] = await ctx.t.sql<{ count: number }>('select count(*)::int as count from notifications where user_id = $1 and read_at is null', [personOf(ctx.read, role)!.id]);
      return count === row!.count ? 'own' : unexpected(`${count} unread, the caller has ${row!.count}`);
    }),

  order: (role, ctx) =>
    query(ctx, ctx.read, role, 'order', `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id: ctx.read.orderId }, (order: { id: string }) =>
      order.id === ctx.read.orderId ? 'data' : unexpected('another order', order),
    ),

  orders: (role, ctx) =>
    query(ctx, ctx.read, role, 'orders', `{ orders(first: 100) { edges { node { ${ORDER_FIELDS} } } } }`, {}, (page: { edges: { node: { id: string; customer: { id: string }; partner: { id: string } | null } }[] }) => {
      const orders = page.edges.map((edge) => edge.node);
      const foreign = orders.filter((order) => !mayList(ctx.read, role, order));
      if (foreign.length > 0) return unexpected('orders the caller may not see', foreign);
      if (orders.some((order) => order.id === ctx.read.orderId)) return 'data';
      return orders.length === 0 ? 'empty' : 'own';
    }),

  conversation: (role, ctx) =>
    query(ctx, ctx.read, role, 'conversation', `query($id: ID!) { conversation(id: $id) { ${CONVERSATION_FIELDS} } }`, { id: ctx.read.orderConversationId }, (c: { id: string; participants: { id: string }[] }) =>
      conversationOutcome(ctx.read, role, ctx.read.orderConversationId, c),
    ),

  'conversation#direct': (role, ctx) =>
    query(ctx, ctx.read, role, 'conversation', `query($id: ID!) { conversation(id: $id) { ${CONVERSATION_FIELDS} } }`, { id: ctx.read.directConversationId }, (c: { id: string; participants: { id: string }[] }) =>
      conversationOutcome(ctx.read, role, ctx.read.directConversationId, c),
    ),

  conversations: (role, ctx) =>
    query(ctx, ctx.read, role, 'conversations', '{ conversations(first: 100) { edges { node { id } } } }', {}, (page: { edges: { node: { id: string } }[] }) => {
      const ids = idsOf(page);
      const who = personOf(ctx.read, role)!;
      const foreign = ids.filter((id) => role !== 'admin' && !membersOf(ctx.read, id).includes(who.id));
      if (foreign.length > 0) return unexpected('conversations the caller does not take part in', foreign);
      if (ids.includes(ctx.read.orderConversationId)) return 'data';
      return ids.length === 0 ? 'empty' : 'own';
    }),

  presence: (role, ctx) => {
    const everyone = [ctx.stranger.id, ...Object.values(ctx.read.people).map((p) => p.id)];
    return query(ctx, ctx.read, role, 'presence', 'query($ids: [ID!]!) { presence(userIds: $ids) { user { id } online } }', { ids: everyone }, (list: { user: { id: string } }[]) => {
      const seen = list.map((entry) => entry.user.id).sort();
      const allowed = presenceVisible(ctx.read, role, ctx.stranger).sort();
      if (JSON.stringify(seen) !== JSON.stringify(allowed)) return unexpected(`presence of ${seen.join(', ')}; visible are ${allowed.join(', ')}`);
      return seen.includes(ctx.read.people.customer.id) ? 'data' : 'own';
    });
  },

  notificationPreferences: (role, ctx) =>
    query(ctx, ctx.read, role, 'notificationPreferences', '{ notificationPreferences { kind inApp offline } }', {}, (list: unknown[]) => (list.length === 7 ? 'own' : unexpected('preferences', list))),

  adminDashboard: (role, ctx) =>
    query(ctx, ctx.read, role, 'adminDashboard', '{ adminDashboard { ordersToday ordersByStatus { status count } } }', {}, (board: { ordersByStatus: unknown[] }) =>
      board.ordersByStatus.length === 8 ? 'data' : unexpected('statuses', board),
    ),
  // The read world's order is assigned to partner and active; the other partner has none.
  partnerDashboard: (role, ctx) =>
    query(ctx, ctx.read, role, 'partnerDashboard', '{ partnerDashboard { activeOrders } }', {}, (board: { activeOrders: number }) =>
      board.activeOrders > 0 ? 'data' : 'own',
    ),
  activity: (role, ctx) =>
    query(ctx, ctx.read, role, 'activity', '{ activity(first: 5) { edges { node { id topic } } } }', {}, (page: { edges: unknown[] }) => (page.edges.length > 0 ? 'data' : 'empty')),

  // --- Mutations (write world, HTTP, a fresh target per cell) ---
  markRead: async (role, ctx) => {
    const target = await newNotification(ctx, ctx.write, ctx.write.people.customer, 'markRead target');
    return mutate(ctx, role, 'markRead', 'mutation($ids: [ID!]!) { markRead(ids: $ids) { notifications { id } unreadCount } }', { ids: [target] }, (payload: { notifications: { id: string }[] }) =>
      payload.notifications.length === 1 && payload.notifications[0]!.id === target ? 'data' : unexpected('marked', payload),
    );
  },

  markAllRead: async (role, ctx) => {
    const target = await newNotification(ctx, ctx.write, ctx.write.people.customer, 'markAllRead target');
    return mutate(ctx, role, 'markAllRead', 'mutation { markAllRead { notifications { id } unreadCount } }', {}, async (payload: { notifications: { id: string }[] }) => {
      const owners = await notificationOwners(ctx, payload.notifications.map((n) => n.id));
      if (owners.some((owner) => owner !== personOf(ctx.write, role)!.id)) return unexpected("marked someone else's", owners);
      const [row] = await ctx.t.sql<{ read: boolean }>('select read_at is not null as read from notifications where id = $1', [target]);
      if (row!.read !== (role === 'customer')) return unexpected(`the target is ${row!.read ? 'read' : 'unread'}`);
      return row!.read ? 'data' : 'own';
    });
  },

  sendNotification: (role, ctx) =>
    mutate(ctx, role, 'sendNotification', 'mutation($input: SendNotificationInput!) { sendNotification(input: $input) }', { input: { userIds: [ctx.write.people.customer.id], title: 'From the matrix', body: 'hello' } }, (count: number) =>
      count === 1 ? 'data' : unexpected(`${count} sent`),
    ),

  createOrder: (role, ctx) =>
    mutate(ctx, role, 'createOrder', `mutation { createOrder(input: { description: "Matrix order", totalCents: 1000 }) { ${ORDER_FIELDS} } }`, {}, (order: { customer: { id: string } }) =>
      order.customer.id === personOf(ctx.write, role)!.id ? 'own' : unexpected('an order of someone else', order),
    ),

  assignOrder: async (role, ctx) => {
    const partner = ctx.write.people.partner;
    const created = await ask(ctx, ctx.write, 'customer', 'mutation { createOrder(input: { description: "To assign", totalCents: 500 }) { id } }');
    const orderId = (created.data!['createOrder'] as { id: string }).id;
    return mutate(ctx, role, 'assignOrder', `mutation($o: ID!, $p: ID) { assignOrder(orderId: $o, partnerId: $p) { ${ORDER_FIELDS} } }`, { o: orderId, p: partner.partnerId }, (order: { id: string; partner: { id: string } | null }) =>
      order.id === orderId && order.partner?.id === partner.partnerId ? 'data' : unexpected('assigned', order),
    );
  },

  updateOrderStatus: async (role, ctx) => {
    const { customer, partner, admin } = ctx.write.people;
    const orderId = await createAssignedOrder(ctx.t, customer, partner, admin, 'To confirm');
    return mutate(ctx, role, 'updateOrderStatus', `mutation($o: ID!) { updateOrderStatus(orderId: $o, status: CONFIRMED) { ${ORDER_FIELDS} } }`, { o: orderId }, (order: { id: string; status: string }) =>
      order.id === orderId && order.status === 'CONFIRMED' ? 'data' : unexpected('updated', order),
    );
  },

  'updateOrderStatus#cancel': async (role, ctx) => {
    const { customer, partner, admin } = ctx.write.people;
    const orderId = await createAssignedOrder(ctx.t, customer, partner, admin, 'To cancel');
    return mutate(ctx, role, 'updateOrderStatus', `mutation($o: ID!) { updateOrderStatus(orderId: $o, status: CANCELLED, note: "changed my mind") { ${ORDER_FIELDS} } }`, { o: orderId }, (order: { id: string; status: string }) =>
      order.id === orderId && order.status === 'CANCELLED' ? 'data' : unexpected('updated', order),
    );
  },

  updateOrderLocation: (role, ctx) =>
    mutate(ctx, role, 'updateOrderLocation', `mutation($o: ID!) { updateOrderLocation(orderId: $o, latitude: 48.8566, longitude: 2.3522) { id lastLocation { latitude longitude } } }`, { o: ctx.write.orderId }, (order: { id: string; lastLocation: { latitude: number } | null }) =>
      order.id === ctx.write.orderId && order.lastLocation?.latitude === 48.8566 ? 'data' : unexpected('located', order),
    ),

  openDirectConversation: (role, ctx) =>
    mutate(ctx, role, 'openDirectConversation', `mutation($u: ID!) { openDirectConversation(userId: $u) { ${CONVERSATION_FIELDS} } }`, { u: ctx.stranger.id }, (c: { kind: string; participants: { id: string }[] }) => {
      const ids = c.participants.map((p) => p.id).sort();
      return c.kind === 'DIRECT' && JSON.stringify(ids) === JSON.stringify([personOf(ctx.write, role)!.id, ctx.stranger.id].sort()) ? 'data' : unexpected('opened', c);
    }),

  orderConversation: (role, ctx) =>
    mutate(ctx, role, 'orderConversation', `mutation($o: ID!) { orderConversation(orderId: $o) { ${CONVERSATION_FIELDS} } }`, { o: ctx.write.orderId }, (c: { id: string; participants: { id: string }[] }) =>
      conversationOutcome(ctx.write, role, ctx.write.orderConversationId, c),
    ),

  sendMessage: (role, ctx) =>
    mutate(ctx, role, 'sendMessage', 'mutation($c: ID!) { sendMessage(input: { conversationId: $c, body: "From the matrix" }) { id conversationId sender { id } } }', { c: ctx.write.orderConversationId }, (m: { conversationId: string; sender: { id: string } }) =>
      m.conversationId === ctx.write.orderConversationId && m.sender.id === personOf(ctx.write, role)!.id ? 'data' : unexpected('sent', m),
    ),

  'sendMessage#direct': (role, ctx) =>
    mutate(ctx, role, 'sendMessage', 'mutation($c: ID!) { sendMessage(input: { conversationId: $c, body: "From the matrix" }) { id conversationId sender { id } } }', { c: ctx.write.directConversationId }, (m: { conversationId: string; sender: { id: string } }) =>
      m.conversationId === ctx.write.directConversationId && m.sender.id === personOf(ctx.write, role)!.id ? 'data' : unexpected('sent', m),
    ),

  markConversationRead: async (role, ctx) => {
    const last = await latestMessage(ctx, ctx.write.orderConversationId);
    return mutate(ctx, role, 'markConversationRead', `mutation($c: ID!, $m: ID!) { markConversationRead(conversationId: $c, messageId: $m) { id unreadCount } }`, { c: ctx.write.orderConversationId, m: last }, (c: { id: string; unreadCount: number }) =>
      c.id === ctx.write.orderConversationId && c.unreadCount === 0 ? 'data' : unexpected('read', c),
    );
  },

  setTyping: (role, ctx) =>
    mutate(ctx, role, 'setTyping', 'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) }', { c: ctx.write.orderConversationId }, (done: boolean) => (done ? 'data' : unexpected('false'))),

  setNotificationPreference: (role, ctx) =>
    mutate(ctx, role, 'setNotificationPreference', 'mutation { setNotificationPreference(kind: SYSTEM, offline: false) { kind inApp offline } }', {}, (p: { kind: string; offline: boolean }) =>
      p.kind === 'SYSTEM' && p.offline === false ? 'own' : unexpected('set', p),
    ),

  // --- Subscriptions (live world, graphql-ws) ---
  notificationAdded: async (role, ctx) => {
    const world = ctx.live;
    const who = personOf(world, role);
    // `since` replays what was committed after it, so what is sent below arrives even before the subscription is live.
    const since = who ? await latestNotification(ctx, who) : null;
    const live = await subscribe(ctx, world, role, 'notificationAdded', 'subscription($since: ID) { notificationAdded(since: $since) { id title } }', { since });
    const target = await newNotification(ctx, world, world.people.customer, 'For customer');
    const own = who ? await newNotification(ctx, world, who, `For ${role}`) : null;
    return live.first((n: { id: string }) => (n.id === target ? 'data' : n.id === own ? 'own' : unexpected('another notification', n)));
  },

  unreadCountChanged: async (role, ctx) => {
    const live = await subscribe(ctx, ctx.live, role, 'unreadCountChanged', 'subscription { unreadCountChanged }');
    return live.first(async (count: number) => {
      const [row] = await ctx.t.sql<{ count: number }>('select count(*)::int as count from notifications where user_id = $1 and read_at is null', [personOf(ctx.live, role)!.id]);
      return count === row!.count ? 'own' : unexpected(`${count} unread, the caller has ${row!.count}`);
    });
  },

  orderUpdated: async (role, ctx) => {
    const live = await subscribe(ctx, ctx.live, role, 'orderUpdated', `subscription($o: ID) { orderUpdated(orderId: $o) { ${ORDER_FIELDS} } }`, { o: ctx.live.orderId });
    return live.first((order: { id: string }) => (order.id === ctx.live.orderId ? 'data' : unexpected('another order', order)));
  },

  'orderUpdated#board': async (role, ctx) => {
    const world = ctx.live;
    const { otherPartner, admin } = world.people;
    const live = await subscribe(ctx, world, role, 'orderUpdated', `subscription { orderUpdated { ${ORDER_FIELDS} } }`);
    if (role === 'anonymous') return live.first(() => unexpected('an order'));
    await live.subscribed();
    // The target changes first; then an order of the caller's own, which the caller may see.
    await ask(ctx, world, 'partner', 'mutation($o: ID!) { updateOrderLocation(orderId: $o, latitude: 1.5, longitude: 2.5) { id } }', { o: world.orderId });
    let own: string | null = null;
    if (role === 'otherCustomer') {
      const created = await ask(ctx, world, 'otherCustomer', 'mutation { createOrder(input: { description: "Witness", totalCents: 100 }) { id } }');
      own = (created.data!['createOrder'] as { id: string }).id;
    }
    if (role === 'otherPartner') own = await createAssignedOrder(ctx.t, ctx.witness, otherPartner, admin, 'Witness');
    return live.first((order: { id: string }) => (order.id === world.orderId ? 'data' : order.id === own ? 'own' : unexpected('another order', order)));
  },

  partnerEvent: async (role, ctx) => {
    const world = ctx.live;
    const { customer, partner, otherPartner, admin } = world.people;
    const live = await subscribe(ctx, world, role, 'partnerEvent', 'subscription { partnerEvent { __typename ... on OrderAssigned { order { id } } } }');
    if (role !== 'partner' && role !== 'otherPartner') return live.first(() => unexpected('an event'));
    await live.subscribed();
    const target = await createAssignedOrder(ctx.t, customer, partner, admin, 'Assigned to partner');
    const own = role === 'otherPartner' ? await createAssignedOrder(ctx.t, ctx.witness, otherPartner, admin, 'Assigned to the other partner') : null;
    return live.first((event: { order?: { id: string } }) => (event.order?.id === target ? 'data' : event.order?.id === own ? 'own' : unexpected('another event', event)));
  },

  messageAdded: (role, ctx) => messageProbe(role, ctx, ctx.live.orderConversationId, 'customer'),
  'messageAdded#direct': (role, ctx) => messageProbe(role, ctx, ctx.live.directConversationId, 'otherCustomer'),

  typing: async (role, ctx) => {
    const world = ctx.live;
    const conversationId = world.orderConversationId;
    const setTyping = (who: Role) => ask(ctx, world, who, 'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) }', { c: conversationId });
    const live = await subscribe(ctx, world, role, 'typing', 'subscription($c: ID!) { typing(conversationId: $c) { user { id } typing } }', { c: conversationId });
    if (role !== 'customer' && role !== 'partner' && role !== 'admin') return live.first(() => unexpected('a typing event'));
    await live.subscribed();
    // The caller's own signal first: it must never come back to them.
    await setTyping(role);
    const typist = role === 'customer' ? 'partner' : 'customer';
    await setTyping(typist);
    return live.first((event: { user: { id: string } }) => (event.user.id === world.people[typist].id ? 'data' : unexpected('typing of', event)));
  },

  readReceiptChanged: async (role, ctx) => {
    const world = ctx.live;
    const conversationId = world.orderConversationId;
    const live = await subscribe(ctx, world, role, 'readReceiptChanged', 'subscription($c: ID!) { readReceiptChanged(conversationId: $c) { user { id } } }', {
      c: conversationId,
    });
    if (role !== 'customer' && role !== 'partner' && role !== 'admin') return live.first(() => unexpected('a read receipt'));
    await live.subscribed();
    // Sending moves the sender's read position: someone else's, for the caller.
    const reader = role === 'customer' ? 'partner' : 'customer';
    await message(ctx.t, world.people[reader], conversationId, 'Read this');
    return live.first((receipt: { user: { id: string } }) => (receipt.user.id === world.people[reader].id ? 'data' : unexpected('receipt of', receipt)));
  },

  presenceChanged: async (role, ctx) => {
    const world = ctx.live;
    const everyone = [ctx.stranger.id, ...Object.values(world.people).map((p) => p.id)];
    const allowed = presenceVisible(world, role, ctx.stranger).sort();
    const live = await subscribe(ctx, world, role, 'presenceChanged', 'subscription($ids: [ID!]!) { presenceChanged(userIds: $ids) { user { id } online } }', { ids: everyone });
    // First the current presence of each visible user, one event each.
    return live.firstOf(Math.max(1, allowed.length), (entries: { user: { id: string } }[]) => {
      const seen = entries.map((entry) => entry.user.id).sort();
      if (JSON.stringify(seen) !== JSON.stringify(allowed)) return unexpected(`presence of ${seen.join(', ')}; visible are ${allowed.join(', ')}`);
      return seen.includes(world.people.customer.id) ? 'data' : 'own';
    });
  },

  activityAdded: async (role, ctx) => {
    const live = await subscribe(ctx, ctx.live, role, 'activityAdded', 'subscription { activityAdded { id topic } }');
    if (role !== 'admin') return live.first(() => unexpected('an event'));
    await live.subscribed();
    await newNotification(ctx, ctx.live, ctx.live.people.otherCustomer, 'Activity');
    return live.first((event: { topic: string }) => (event.topic === 'notification.created' ? 'data' : unexpected('event', event)));
  },
};

async function messageProbe(role: Role, ctx: Ctx, conversationId: string, sender: 'customer' | 'otherCustomer'): Promise<Observed> {
  const world = ctx.live;
  // `since` replays what was committed after it: the message below arrives even if sent before the subscription is live.
  const since = await latestMessage(ctx, conversationId);
  const live = await subscribe(ctx, world, role, 'messageAdded', 'subscription($c: ID!, $since: ID) { messageAdded(conversationId: $c, since: $since) { id conversationId } }', {
    c: conversationId,
    since,
  });
  const sent = await message(ctx.t, world.people[sender], conversationId, 'For the matrix');
  return live.first((m: { id: string }) => (m.id === sent ? 'data' : unexpected('another message', m)));
}

describe.each(BACKENDS)('authorization matrix on %s', (backend) => {
  const ctx = { clients: [] as WsConnection[] } as unknown as Ctx;

  beforeAll(async () => {
    ctx.t = await startTestServer(backend);
    ctx.read = await createWorld(ctx.t, 'az-read');
    ctx.write = await createWorld(ctx.t, 'az-write');
    ctx.live = await createWorld(ctx.t, 'az-live');
    ctx.stranger = await person(ctx.t, 'az-stranger', 'customer');
    ctx.witness = await person(ctx.t, 'az-witness', 'customer');
    // Everyone has a notification, so notificationAdded's `since` has something to start from.
    for (const who of Object.values(ctx.live.people)) await newNotification(ctx, ctx.live, who, 'Baseline');
  });

  afterAll(async () => {
    await Promise.all(ctx.clients.map((client) => client.dispose()));
    await ctx.t?.stop();
  });

  it('has a row for every Query, Mutation and Subscription field of the schema, and a probe for every row', () => {
    const covered = new Set(MATRIX.map(([name]) => fieldOf(name)));
    expect(ROOT_FIELDS.filter((field) => !covered.has(field)), 'root fields without a row').toEqual([]);
    expect([...covered].filter((field) => !ROOT_FIELDS.includes(field)), 'rows for fields the schema does not have').toEqual([]);
    expect(MATRIX.map(([name]) => name).sort()).toEqual(Object.keys(PROBES).sort());
    console.log(`[authorization] ${ROOT_FIELDS.length} fields × ${ROLES.length} roles = ${ROOT_FIELDS.length * ROLES.length} cells, and ${MATRIX.length - covered.size} variant rows: ${MATRIX.length * ROLES.length} cells run on ${backend}`);
  });

  it.each(MATRIX.map((row) => [row[0], row] as const))('%s', async (_name, [name, target, cells]) => {
    const mismatches: string[] = [];
    for (const [index, role] of ROLES.entries()) {
      const observed = await PROBES[name]!(role, ctx);
      if (observed !== cells[index]) mismatches.push(`${role}: expected ${cells[index]}, got ${observed}`);
    }
    expect(mismatches, `${name} (${target})`).toEqual([]);
  });
});
