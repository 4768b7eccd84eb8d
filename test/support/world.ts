import {
  AssignOrderDocument,
  CreateOrderDocument,
  MeDocument,
  NotificationsDocument,
  OpenDirectConversationDocument,
  OrderConversationDocument,
  SendMessageDocument,
  SendNotificationDocument,
} from '../generated/graphql.js';
import { httpData } from './clients.js';
import { token, type TestServer } from './server.js';

/** The roles of CONTRACT.md "Rules of access", as the authorization matrix and the fuzz name them. */
export const ROLES = ['customer', 'otherCustomer', 'partner', 'otherPartner', 'admin', 'anonymous'] as const;
export type Role = (typeof ROLES)[number];

export interface Person {
  id: string;
  /** The display name its token carries. */
  name: string;
  token: string;
  /** Set for partners. */
  partnerId?: string;
}

/**
 * A small marketplace, built over the API: `customer` has `order`, assigned to
 * `partner`'s business, with its order conversation (a message from each
 * side); `customer` and `otherCustomer` share a direct conversation; each
 * customer has notifications. `otherCustomer` and `otherPartner` share
 * nothing with them.
 */
export interface World {
  people: Record<Exclude<Role, 'anonymous'>, Person>;
  /** The bearer token of a role; null for anonymous. */
  tokenOf(role: Role): string | null;
  orderId: string;
  orderConversationId: string;
  orderMessageIds: string[];
  directConversationId: string;
  directMessageIds: string[];
  /** customer's notifications (newest first). */
  notificationIds: string[];
  /** otherCustomer's notifications. */
  otherNotificationIds: string[];
}

export type PersonRole = 'customer' | 'partner' | 'admin';

export interface PersonOptions {
  /** The display name in the token; `Name of <id>` unless given. */
  name?: string;
  /** For partners: the business they work for (named `Business of <partnerId>`). */
  partnerId?: string;
  /** The token's lifetime, as `token()` takes it. */
  expiresIn?: string;
}

/** A user with a token, provisioned (user and partner rows) by a first request to `server`. */
export async function person(server: { url: string }, id: string, role: PersonRole, options: PersonOptions = {}): Promise<Person> {
  const { partnerId, name = `Name of ${id}`, expiresIn = '1h' } = options;
  const jwt = await token({ sub: id, role, name, ...(partnerId ? { partner_id: partnerId, partner_name: `Business of ${partnerId}` } : {}) }, expiresIn);
  await httpData(server.url, MeDocument, {}, jwt);
  return { id, name, token: jwt, ...(partnerId ? { partnerId } : {}) };
}

export interface Partner extends Person {
  partnerId: string;
}

/**
 * Fresh people for one suite, so that tests never share state: ids
 * `<prefix>-<role>-<n>`, named `Customer <n>`, `Partner <n>`, `Admin <n>`; a
 * partner works for `<id>-co` unless `partnerId` says otherwise. `server` is
 * asked at each call, as suites start theirs in `beforeAll`.
 */
export function newPeople(server: () => { url: string }, prefix: string) {
  let count = 0;
  const make = (role: PersonRole, options: PersonOptions): Promise<Person> => {
    count += 1;
    const id = `${prefix}-${role}-${count}`;
    const name = `${role[0]!.toUpperCase()}${role.slice(1)} ${count}`;
    const partnerId = role === 'partner' ? (options.partnerId ?? `${id}-co`) : options.partnerId;
    return person(server(), id, role, { name, ...options, partnerId });
  };
  return {
    customer: (options: PersonOptions = {}) => make('customer', options),
    admin: (options: PersonOptions = {}) => make('admin', options),
    partner: async (options: PersonOptions = {}): Promise<Partner> => {
      const partner = await make('partner', options);
      return { ...partner, partnerId: partner.partnerId! };
    },
  };
}

/** `prefix` keeps worlds on one server apart. */
export async function createWorld(t: TestServer, prefix: string): Promise<World> {
  const people = {
    customer: await person(t, `${prefix}-customer`, 'customer'),
    otherCustomer: await person(t, `${prefix}-other-customer`, 'customer'),
    partner: await person(t, `${prefix}-partner`, 'partner', { partnerId: `${prefix}-partner-co` }),
    otherPartner: await person(t, `${prefix}-other-partner`, 'partner', { partnerId: `${prefix}-other-partner-co` }),
    admin: await person(t, `${prefix}-admin`, 'admin'),
  };
  const { customer, otherCustomer, partner, admin } = people;
  const order = await createAssignedOrder(t, customer, partner, admin);
  const orderConversation = await httpData(t.url, OrderConversationDocument, { orderId: order }, customer.token);
  const orderConversationId = orderConversation.orderConversation.id;
  const orderMessageIds = [
    await message(t, customer, orderConversationId, 'When will you arrive?'),
    await message(t, partner, orderConversationId, 'In ten minutes.'),
  ];
  const directConversationId = await openDirect(t, customer, otherCustomer);
  const directMessageIds = [await message(t, otherCustomer, directConversationId, 'Hi neighbour')];
  for (const who of [customer, otherCustomer]) {
    await httpData(t.url, SendNotificationDocument, { input: { userIds: [who.id], title: 'Welcome', body: 'to the marketplace' } }, admin.token);
  }
  const notificationIds = await notificationsOf(t, customer);
  const otherNotificationIds = await notificationsOf(t, otherCustomer);
  return {
    people,
    tokenOf: (role) => (role === 'anonymous' ? null : people[role].token),
    orderId: order,
    orderConversationId,
    orderMessageIds,
    directConversationId,
    directMessageIds,
    notificationIds,
    otherNotificationIds,
  };
}

/** A PENDING order of `customer`, assigned to `partner`'s business by `admin`. */
export async function createAssignedOrder(t: TestServer, customer: Person, partner: Person, admin: Person, description = 'Fix the sink'): Promise<string> {
  const created = await httpData(t.url, CreateOrderDocument, { input: { description, totalCents: 12_000 } }, customer.token);
  await httpData(t.url, AssignOrderDocument, { orderId: created.createOrder.id, partnerId: partner.partnerId! }, admin.token);
  return created.createOrder.id;
}

/** The direct conversation of `from` and `to`, opened (or found) by `from`. */
export async function openDirect(server: { url: string }, from: { token: string }, to: { id: string }): Promise<string> {
  return (await httpData(server.url, OpenDirectConversationDocument, { userId: to.id }, from.token)).openDirectConversation.id;
}

export async function message(t: TestServer, sender: Person, conversationId: string, body: string): Promise<string> {
  return (await httpData(t.url, SendMessageDocument, { input: { conversationId, body } }, sender.token)).sendMessage.id;
}

export async function notificationsOf(t: TestServer, who: Person): Promise<string[]> {
  const page = await httpData(t.url, NotificationsDocument, { first: 100 }, who.token);
  return page.notifications.edges.map((edge) => edge.node.id);
}
