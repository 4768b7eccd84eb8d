import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AssignOrderDocument,
  ConversationExtrasDocument,
  NotificationKindsDocument,
  OrderConversationDocument,
  RichMessageAddedDocument,
  SendRichMessageDocument,
  UpdateOrderStatusDocument,
  type RichMessageAddedSubscription,
} from './generated/graphql.js';
import { errorCode, httpData, httpRequest, wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { createAssignedOrder, newPeople, type Person } from './support/world.js';

/** SYSTEM messages: contract part "chat", System messages. */
describe.each(BACKENDS)('SYSTEM messages on %s', (backend) => {
  let t: TestServer;
  let admin: Person;
  const sockets: WsConnection[] = [];
  const people = newPeople(() => t, 'sys');

  function ws(user: Person): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(connection);
    return connection;
  }

  async function conversationOf(orderId: string, user: Person): Promise<string> {
    return (await httpData(t.url, OrderConversationDocument, { orderId }, user.token)).orderConversation.id;
  }

  async function messages(conversationId: string, user: Person) {
    const conversation = (await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, user.token)).conversation!;
    return conversation.messages.edges.map((edge) => edge.node).reverse();
  }

  async function next(stream: Subscription<RichMessageAddedSubscription>) {
    return (await stream.next()).messageAdded;
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = await people.admin();
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('posts a line for each status change and (un)assignment, by mutation or plain SQL, in order with the other messages', async () => {
    const customer = await people.customer();
    const partner = await people.partner({ partnerId: 'sys-sparkle' });
    const orderId = await createAssignedOrder(t, customer, partner, admin);
    const conversationId = await conversationOf(orderId, customer);
    // since: replay-then-live, so nothing sent after this line can be missed.
    const live = ws(customer).subscribe(RichMessageAddedDocument, { conversationId, since: '1' });
    const first = (await httpData(t.url, SendRichMessageDocument, { input: { conversationId, body: 'Hello' } }, customer.token)).sendMessage;
    expect(await next(live)).toMatchObject({ id: first.id, kind: 'TEXT' });

    await httpData(t.url, UpdateOrderStatusDocument, { orderId, status: 'CONFIRMED' }, partner.token);
    const confirmed = await next(live);
    expect(confirmed).toMatchObject({ kind: 'SYSTEM', body: 'Order is now CONFIRMED', sender: { id: 'system', displayName: 'System', role: 'ADMIN' } });

    // An outside writer's change posts the same lines.
    await t.sql(`update orders set status = 'PICKED_UP' where id = $1`, [orderId]);
    expect(await next(live)).toMatchObject({ kind: 'SYSTEM', body: 'Order is now PICKED_UP' });
    await t.sql(`update orders set partner_id = null where id = $1`, [orderId]);
    expect(await next(live)).toMatchObject({ kind: 'SYSTEM', body: 'Business of sys-sparkle is no longer assigned' });
    await httpData(t.url, AssignOrderDocument, { orderId, partnerId: 'sys-sparkle' }, admin.token);
    expect(await next(live)).toMatchObject({ kind: 'SYSTEM', body: 'Assigned to Business of sys-sparkle' });

    // A change that is neither status nor partner posts nothing.
    await t.sql(`update orders set description = 'Fix the sink, and the tap' where id = $1`, [orderId]);
    const after = (await httpData(t.url, SendRichMessageDocument, { input: { conversationId, body: 'Thanks' } }, partner.token)).sendMessage;
    expect(await next(live)).toMatchObject({ id: after.id, kind: 'TEXT' });

    const history = await messages(conversationId, customer);
    expect(history.map((message) => [message.kind, message.body])).toEqual([
      ['TEXT', 'Hello'],
      ['SYSTEM', 'Order is now CONFIRMED'],
      ['SYSTEM', 'Order is now PICKED_UP'],
      ['SYSTEM', 'Business of sys-sparkle is no longer assigned'],
      ['SYSTEM', 'Assigned to Business of sys-sparkle'],
      ['TEXT', 'Thanks'],
    ]);
    // Ids follow the order of the conversation.
    const ids = history.map((message) => BigInt(message.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);

    // Resume after the first message replays exactly the rest, SYSTEM lines included.
    const resumed = ws(customer).subscribe(RichMessageAddedDocument, { conversationId, since: first.id });
    for (const expected of history.slice(1)) expect((await next(resumed)).id).toBe(expected.id);
  });

  it('notifies nobody of a SYSTEM line, counts it as unread, and keeps the system user out of the participants', async () => {
    const customer = await people.customer();
    const partner = await people.partner({ partnerId: 'sys-quiet' });
    const orderId = await createAssignedOrder(t, customer, partner, admin);
    const conversationId = await conversationOf(orderId, customer);
    const kinds = async (user: Person) =>
      (await httpData(t.url, NotificationKindsDocument, {}, user.token)).notifications.edges.map((edge) => edge.node.kind);
    const before = { customer: await kinds(customer), partner: await kinds(partner) };

    await httpData(t.url, UpdateOrderStatusDocument, { orderId, status: 'CONFIRMED' }, partner.token);
    const conversation = (await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, customer.token)).conversation!;
    expect(conversation.messages.edges.map((edge) => edge.node.kind)).toEqual(['SYSTEM']);
    expect(conversation.unreadCount).toBe(1);
    expect((await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, partner.token)).conversation!.unreadCount).toBe(1);
    // The customer's ORDER_UPDATE notification is the order's own; no MESSAGE notification for the line.
    expect(await kinds(customer)).toEqual(['ORDER_UPDATE', ...before.customer]);
    expect(await kinds(partner)).toEqual(before.partner);
    const [row] = await t.sql<{ rows: number }>(`select count(*)::int as rows from conversation_participants where user_id = 'system'`);
    expect(row!.rows).toBe(0);
    // No read receipt for the system user either.
    expect(conversation.readReceipts.map((receipt) => receipt.user.id)).not.toContain('system');
  });

  it('refuses a token naming the system user, as a forged one', async () => {
    const forged = await token({ sub: 'system', role: 'admin', name: 'System' });
    const refused = await httpRequest(t.url, NotificationKindsDocument, {}, forged);
    expect(errorCode(refused)).toBe('UNAUTHENTICATED');
    expect(refused.errors![0]!.message).toContain('Invalid token');
    const socket = wsConnect(t.url, { authorization: `Bearer ${forged}` });
    sockets.push(socket);
    expect(await socket.closed).toMatchObject({ code: 4403 });
    const [row] = await t.sql<{ name: string; role: string }>(`select display_name as name, role from users where id = 'system'`);
    expect(row).toEqual({ name: 'System', role: 'ADMIN' });
  });
});
