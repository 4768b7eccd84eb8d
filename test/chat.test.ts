import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createServer } from '../src/server.js';
import {
  ChatConversationDocument,
  ChatConversationsDocument,
  ChatUnreadDocument,
  MarkConversationReadDocument,
  MessageAddedDocument,
  OpenDirectConversationDocument,
  OrderConversationDocument,
  SendMessageDocument,
  SetTypingDocument,
  TypingDocument,
  UnreadNotificationCountDocument,
  type SendMessageMutationVariables,
  type TypingSubscription,
} from './generated/graphql.js';
import { errorCode, httpData, httpRequest, wsConnect, type Subscription, type WsConnection } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { BACKENDS, startTestServer, token, type TestServer } from './support/server.js';
import { newPeople, openDirect, person, type Person } from './support/world.js';

/** Short, so lapses are awaited as events within a test, never as 5 s sleeps. */
const TYPING_LAPSE_MS = 1000;

describe.each(BACKENDS)('chat on %s', (backend) => {
  let t: TestServer;
  let admin: Person;
  const sockets: WsConnection[] = [];
  const people = newPeople(() => t, 'chat');

  function ws(user: Person): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(connection);
    return connection;
  }

  const direct = (a: Person, b: Person) => openDirect(t, a, b);

  async function send(user: Person, conversationId: string, body: string, extra: Partial<SendMessageMutationVariables['input']> = {}) {
    return (await httpData(t.url, SendMessageDocument, { input: { conversationId, body, ...extra } }, user.token)).sendMessage;
  }

  async function unread(user: Person, conversationId: string): Promise<number | undefined> {
    return (await httpData(t.url, ChatUnreadDocument, { id: conversationId }, user.token)).conversation?.unreadCount;
  }

  /** An order written as an outside writer would: plain SQL. */
  async function newOrder(customer: Person, partnerId: string | null = null): Promise<string> {
    const [row] = await t.sql<{ id: string }>(
      `insert into orders (customer_id, partner_id, description, total_cents) values ($1, $2, 'Fix the sink', 5000) returning id::text`,
      [customer.id, partnerId],
    );
    return row!.id;
  }

  async function count(query: string, params: unknown[] = []): Promise<number> {
    const [row] = await t.sql<{ count: number }>(query, params);
    return row!.count;
  }

  /** Everything that a bad request must not have touched. */
  async function chatState() {
    return {
      conversations: await count('select count(*)::int as count from conversations'),
      messages: await count('select count(*)::int as count from messages'),
      events: await count(`select count(*)::int as count from outbox where topic = 'message.created'`),
      notifications: await count('select count(*)::int as count from notifications'),
    };
  }

  /**
   * Typing signals are ephemeral: one sent before a subscription is live is
   * gone. Repeats `act` (within the typing rate limit) until `subscription`
   * shows it, which proves the subscription is live.
   */
  async function untilSeen(subscription: Subscription<TypingSubscription>, act: () => Promise<unknown>): Promise<TypingSubscription['typing']> {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      await act();
      try {
        return (await subscription.next(300)).typing;
      } catch (error) {
        if (!String(error).includes('timed out')) throw error;
      }
    }
    throw new Error('the typing subscription never became live');
  }

  beforeAll(async () => {
    t = await startTestServer(backend, { TYPING_LAPSE_MS: String(TYPING_LAPSE_MS) });
    admin = await people.admin();
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  describe('conversations', () => {
    it('gives two users the same direct conversation whoever opens it, and nobody else', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const first = await httpData(t.url, OpenDirectConversationDocument, { userId: bob.id }, ann.token);
      const second = await httpData(t.url, OpenDirectConversationDocument, { userId: ann.id }, bob.token);
      const again = await httpData(t.url, OpenDirectConversationDocument, { userId: bob.id }, ann.token);
      const id = first.openDirectConversation.id;
      expect(second.openDirectConversation.id).toBe(id);
      expect(again.openDirectConversation.id).toBe(id);
      expect(first.openDirectConversation).toMatchObject({ kind: 'DIRECT', order: null, unreadCount: 0, lastMessage: null });
      expect(first.openDirectConversation.participants.map((user) => user.id).sort()).toEqual([ann.id, bob.id].sort());
      expect(await count('select count(*)::int as count from conversations where $1 in (direct_user_low, direct_user_high)', [ann.id])).toBe(1);

      // A stranger learns nothing: null, NOT_FOUND, and no list entry.
      expect((await httpData(t.url, ChatConversationDocument, { id }, eve.token)).conversation).toBeNull();
      expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId: id, body: 'hi' } }, eve.token))).toBe('NOT_FOUND');
      expect((await httpData(t.url, ChatConversationsDocument, {}, eve.token)).conversations.edges).toEqual([]);
      expect((await httpData(t.url, ChatConversationsDocument, {}, ann.token)).conversations.edges.map((edge) => edge.node.id)).toEqual([id]);
    });

    it('concurrent first opens of one pair still make one conversation', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const ids = await Promise.all([direct(ann, bob), direct(bob, ann), direct(ann, bob), direct(bob, ann)]);
      expect(new Set(ids).size).toBe(1);
    });

    it('refuses a conversation with yourself and with an unknown user', async () => {
      const ann = await people.customer();
      const before = await chatState();
      const self = await httpRequest(t.url, OpenDirectConversationDocument, { userId: ann.id }, ann.token);
      expect(errorCode(self)).toBe('BAD_USER_INPUT');
      expect(self.errors![0]!.extensions!['field']).toBe('userId');
      expect(errorCode(await httpRequest(t.url, OpenDirectConversationDocument, { userId: 'nobody-ever' }, ann.token))).toBe('NOT_FOUND');
      expect(errorCode(await httpRequest(t.url, OpenDirectConversationDocument, { userId: 'x' }, null))).toBe('UNAUTHENTICATED');
      expect(await chatState()).toEqual(before);
    });

    it("opens an order's conversation to its customer, its assigned partner's users and admins only", async () => {
      const customer = await people.customer();
      const fixer1 = await people.partner({ partnerId: 'fixers' });
      const fixer2 = await people.partner({ partnerId: 'fixers' });
      const rival = await people.partner({ partnerId: 'rivals' });
      const stranger = await people.customer();
      const orderId = await newOrder(customer, 'fixers');
      const before = await count('select count(*)::int as count from conversations');

      const opened = (await httpData(t.url, OrderConversationDocument, { orderId }, customer.token)).orderConversation;
      expect(opened.kind).toBe('ORDER');
      expect(opened.order).toEqual({ id: orderId, status: 'PENDING' });
      expect(opened.participants.map((user) => user.id).sort()).toEqual([customer.id, fixer1.id, fixer2.id].sort());
      for (const user of [fixer1, fixer2, admin]) {
        expect((await httpData(t.url, OrderConversationDocument, { orderId }, user.token)).orderConversation.id).toBe(opened.id);
      }
      for (const user of [rival, stranger]) {
        expect(errorCode(await httpRequest(t.url, OrderConversationDocument, { orderId }, user.token))).toBe('NOT_FOUND');
        expect((await httpData(t.url, ChatConversationDocument, { id: opened.id }, user.token)).conversation).toBeNull();
      }
      expect(errorCode(await httpRequest(t.url, OrderConversationDocument, { orderId: '999999999' }, customer.token))).toBe('NOT_FOUND');
      expect(errorCode(await httpRequest(t.url, OrderConversationDocument, { orderId: 'order-1' }, customer.token))).toBe('BAD_USER_INPUT');
      expect(await count('select count(*)::int as count from conversations')).toBe(before + 1);

      // Admins see it and write in it; writing is how an admin joins.
      await send(admin, opened.id, 'Support here');
      const afterAdmin = (await httpData(t.url, ChatConversationDocument, { id: opened.id }, customer.token)).conversation!;
      expect(afterAdmin.participants.map((user) => user.id)).toContain(admin.id);
      expect(afterAdmin.lastMessage?.body).toBe('Support here');
    });

    it('follows the order: a partner assigned later joins, one unassigned leaves', async () => {
      const customer = await people.customer();
      const early = await people.partner({ partnerId: 'early-birds' });
      const late = await people.partner({ partnerId: 'late-comers' });
      const orderId = await newOrder(customer, 'early-birds');
      const conversationId = (await httpData(t.url, OrderConversationDocument, { orderId }, customer.token)).orderConversation.id;
      await send(early, conversationId, 'On my way');
      expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId, body: 'me too?' } }, late.token))).toBe('NOT_FOUND');

      const earlySocket = ws(early);
      const earlyStream = earlySocket.subscribe(MessageAddedDocument, { conversationId, since: '1' });
      expect((await earlyStream.next()).messageAdded.body).toBe('On my way');
      const earlyTyping = earlySocket.subscribe(TypingDocument, { conversationId });
      await untilSeen(earlyTyping, () => httpData(t.url, SetTypingDocument, { conversationId, typing: true }, customer.token));
      const customerStream = ws(customer).subscribe(MessageAddedDocument, { conversationId, since: '1' });
      expect((await customerStream.next()).messageAdded.body).toBe('On my way');

      await t.sql('update orders set partner_id = $1 where id = $2', ['late-comers', orderId]);
      // Streams opened while the partner was assigned end with the answer a new subscribe would get.
      expect(JSON.stringify((await earlyStream.ended.promise).error)).toContain('NOT_FOUND');
      expect(JSON.stringify((await earlyTyping.ended.promise).error)).toContain('NOT_FOUND');

      const now = (await httpData(t.url, ChatConversationDocument, { id: conversationId }, late.token)).conversation!;
      expect(now.participants.map((user) => user.id).sort()).toEqual([customer.id, late.id].sort());
      // The history is there, unread, for the partner who joined: the message and the two SYSTEM lines of the change.
      expect(now.unreadCount).toBe(3);
      // The customer's stream goes on, with the change as SYSTEM lines (chat-system.test.ts).
      expect((await customerStream.next()).messageAdded.body).toBe('Business of early-birds is no longer assigned');
      expect((await customerStream.next()).messageAdded.body).toBe('Assigned to Business of late-comers');
      await send(late, conversationId, 'Taking over');
      expect((await customerStream.next()).messageAdded.body).toBe('Taking over');
      expect((await httpData(t.url, ChatConversationsDocument, {}, late.token)).conversations.edges.map((edge) => edge.node.id)).toEqual([conversationId]);

      // The unassigned partner has left: nothing to see, send or subscribe to.
      expect((await httpData(t.url, ChatConversationDocument, { id: conversationId }, early.token)).conversation).toBeNull();
      expect((await httpData(t.url, ChatConversationsDocument, {}, early.token)).conversations.edges).toEqual([]);
      expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId, body: 'still here' } }, early.token))).toBe('NOT_FOUND');
      expect(errorCode(await httpRequest(t.url, OrderConversationDocument, { orderId }, early.token))).toBe('NOT_FOUND');
      const refused = earlySocket.subscribe(MessageAddedDocument, { conversationId });
      expect(JSON.stringify((await refused.ended.promise).error)).toContain('NOT_FOUND');
      const refusedTyping = earlySocket.subscribe(TypingDocument, { conversationId });
      expect(JSON.stringify((await refusedTyping.ended.promise).error)).toContain('NOT_FOUND');
    });

    it('lists conversations newest first with cursors', async () => {
      const ann = await people.customer();
      const others = [await people.customer(), await people.customer(), await people.customer()];
      const ids: string[] = [];
      for (const other of others) ids.push(await direct(ann, other));
      const orderId = await newOrder(ann);
      ids.push((await httpData(t.url, OrderConversationDocument, { orderId }, ann.token)).orderConversation.id);
      const page1 = await httpData(t.url, ChatConversationsDocument, { first: 2 }, ann.token);
      expect(page1.conversations.edges.map((edge) => edge.node.id)).toEqual([ids[3], ids[2]]);
      expect(page1.conversations.pageInfo.hasNextPage).toBe(true);
      const page2 = await httpData(t.url, ChatConversationsDocument, { first: 5, after: page1.conversations.pageInfo.endCursor }, ann.token);
      expect(page2.conversations.edges.map((edge) => edge.node.id)).toEqual([ids[1], ids[0]]);
      expect(page2.conversations.pageInfo.hasNextPage).toBe(false);
    });
  });

  describe('messages', () => {
    it('delivers messages live, with replies, and pages them newest first', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const bobSocket = ws(bob);
      const live = bobSocket.subscribe(MessageAddedDocument, { conversationId });
      // The first message may race the subscription: resend a probe until it arrives.
      const probe = await send(ann, conversationId, 'probe');
      const fromStart = bobSocket.subscribe(MessageAddedDocument, { conversationId, since: String(BigInt(probe.id) - 1n) });
      expect((await fromStart.next()).messageAdded.id).toBe(probe.id);

      const question = await send(ann, conversationId, '  Is 3pm OK?  ');
      expect(question.body).toBe('Is 3pm OK?');
      expect(question.sender).toMatchObject({ id: ann.id });
      const answer = await send(bob, conversationId, 'Yes', { replyToId: question.id });
      expect(answer.replyTo).toEqual({ id: question.id, body: 'Is 3pm OK?' });
      const [q, a] = await fromStart.take(2);
      expect(q!.messageAdded).toEqual(question);
      expect(a!.messageAdded).toEqual(answer);
      // The stream without `since` sees at least these two, in order, with nothing after them.
      const seen = (await live.takeUntil((event) => event.messageAdded.id === answer.id)).map((event) => event.messageAdded.id);
      expect(seen.slice(-2)).toEqual([question.id, answer.id]);

      const page1 = (await httpData(t.url, ChatConversationDocument, { id: conversationId, first: 2 }, bob.token)).conversation!;
      expect(page1.messages.edges.map((edge) => edge.node.body)).toEqual(['Yes', 'Is 3pm OK?']);
      expect(page1.messages.pageInfo.hasNextPage).toBe(true);
      expect(page1.lastMessage).toEqual({ id: answer.id, body: 'Yes' });
      const page2 = (await httpData(t.url, ChatConversationDocument, { id: conversationId, first: 2, after: page1.messages.pageInfo.endCursor }, bob.token))
        .conversation!;
      expect(page2.messages.edges.map((edge) => edge.node.body)).toEqual(['probe']);
      expect(page2.messages.pageInfo.hasNextPage).toBe(false);
    });

    it('shows each message with its sender as named now, in the answer, live and in a replay', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const bobSocket = ws(bob);
      const probe = await send(ann, conversationId, 'probe');
      const live = bobSocket.subscribe(MessageAddedDocument, { conversationId, since: probe.id });

      const first = await send(ann, conversationId, 'As Ann');
      expect(first.sender).toEqual({ id: ann.id, displayName: ann.name });
      expect((await live.next()).messageAdded.sender).toEqual({ id: ann.id, displayName: ann.name });

      // A new token with another name renames her (provisioning), so does a plain SQL update.
      const renamed = await person(t, ann.id, 'customer', { name: 'Ann Renamed' });
      const second = await send(renamed, conversationId, 'Renamed');
      expect(second.sender).toEqual({ id: ann.id, displayName: 'Ann Renamed' });
      expect((await live.next()).messageAdded.sender).toEqual({ id: ann.id, displayName: 'Ann Renamed' });
      await t.sql(`update users set display_name = 'Ann By SQL' where id = $1`, [ann.id]);
      const third = await send(renamed, conversationId, 'After SQL');
      expect(third.sender.displayName).toBe('Ann By SQL');
      expect((await live.next()).messageAdded.sender.displayName).toBe('Ann By SQL');
      const replay = bobSocket.subscribe(MessageAddedDocument, { conversationId, since: probe.id });
      const replayed = await replay.take(3);
      expect(replayed.map((event) => event.messageAdded.sender.displayName)).toEqual(['Ann By SQL', 'Ann By SQL', 'Ann By SQL']);
    });

    it('creates a MESSAGE notification for the other participants only, honouring their preference', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const message = await send(ann, conversationId, 'Knock knock');
      const notifications = await t.sql<{ user_id: string; title: string; body: string; data: { conversationId: string; messageId: string } }>(
        `select user_id, title, body, data from notifications where kind = 'MESSAGE' and user_id in ($1, $2)`,
        [ann.id, bob.id],
      );
      expect(notifications).toHaveLength(1);
      expect(notifications[0]).toMatchObject({ user_id: bob.id, body: 'Knock knock', data: { conversationId, messageId: message.id } });
      expect(notifications[0]!.title).toContain(ann.name);

      await t.sql(`insert into notification_preferences (user_id, kind, in_app) values ($1, 'MESSAGE', false)`, [bob.id]);
      await send(ann, conversationId, 'Who is there?');
      expect(await count(`select count(*)::int as count from notifications where kind = 'MESSAGE' and user_id = $1`, [bob.id])).toBe(1);
      expect(await count('select count(*)::int as count from messages where conversation_id = $1', [conversationId])).toBe(2);
    });

    it("notifies an order conversation's other members: the customer, the partner's users and the admins who joined", async () => {
      const customer = await people.customer();
      const fixer1 = await people.partner({ partnerId: 'notified-fixers' });
      const fixer2 = await people.partner({ partnerId: 'notified-fixers' });
      const bystander = await people.customer();
      const orderId = await newOrder(customer, 'notified-fixers');
      const conversationId = (await httpData(t.url, OrderConversationDocument, { orderId }, customer.token)).orderConversation.id;
      const notified = async (messageId: string) =>
        (
          await t.sql<{ user_id: string }>(`select user_id from notifications where kind = 'MESSAGE' and data ->> 'messageId' = $1 order by user_id`, [messageId])
        ).map((row) => row.user_id);

      const fromCustomer = await send(customer, conversationId, 'Is it fixed?');
      expect(await notified(fromCustomer.id)).toEqual([fixer1.id, fixer2.id].sort());
      const fromAdmin = await send(admin, conversationId, 'Support here');
      expect(await notified(fromAdmin.id)).toEqual([customer.id, fixer1.id, fixer2.id].sort());
      const fromFixer = await send(fixer1, conversationId, 'Tomorrow');
      expect(await notified(fromFixer.id)).toEqual([admin.id, customer.id, fixer2.id].sort());
      expect(await count(`select count(*)::int as count from notifications where user_id = $1`, [bystander.id])).toBe(0);
    });

    it('answers a retry with the first message and publishes nothing new', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const warmup = await send(ann, conversationId, 'warm-up');
      const stream = ws(bob).subscribe(MessageAddedDocument, { conversationId, since: warmup.id });
      const first = await send(ann, conversationId, 'Only once', { clientMessageId: 'c-1' });
      const retries = await Promise.all([
        send(ann, conversationId, 'Only once', { clientMessageId: 'c-1' }),
        send(ann, conversationId, 'Only once', { clientMessageId: 'c-1' }),
      ]);
      expect(first.clientMessageId).toBe('c-1');
      for (const retry of retries) expect(retry).toEqual(first);
      const next = await send(ann, conversationId, 'Then this', { clientMessageId: 'c-2' });
      const [a, b] = await stream.take(2);
      expect([a!.messageAdded.id, b!.messageAdded.id]).toEqual([first.id, next.id]);
      expect(await count('select count(*)::int as count from messages where conversation_id = $1', [conversationId])).toBe(3);
      expect(await count(`select count(*)::int as count from outbox where topic = 'message.created' and payload ->> 'conversationId' = $1`, [conversationId])).toBe(3);
      expect(await count(`select count(*)::int as count from notifications where kind = 'MESSAGE' and user_id = $1`, [bob.id])).toBe(3);
      // Another sender may use the same key: it is per sender.
      const fromBob = await send(bob, conversationId, 'Mine', { clientMessageId: 'c-1' });
      expect(fromBob.id).not.toBe(first.id);
    });

    it('replays after `since`, then goes live, with no gap and no duplicate while sends race the replay', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const before: string[] = [];
      for (let i = 1; i <= 5; i += 1) before.push((await send(ann, conversationId, `before ${i}`)).id);
      const socket = ws(bob);
      await socket.connected;
      const racing = Promise.all(Array.from({ length: 10 }, (_, i) => send(i % 2 ? ann : bob, conversationId, `during ${i}`)));
      const stream = socket.subscribe(MessageAddedDocument, { conversationId, since: before[1] });
      await racing;
      await send(ann, conversationId, 'after');
      const events = (await stream.takeUntil((event) => event.messageAdded.body === 'after')).map((event) => event.messageAdded);
      const bodies = events.map((event) => event.body);
      const ids = events.map((event) => event.id);
      expect(bodies.slice(0, 3)).toEqual(['before 3', 'before 4', 'before 5']);
      expect(bodies.filter((body) => body.startsWith('during')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `during ${i}`).sort());
      expect(bodies).toHaveLength(14);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((x, y) => (x < y ? -1 : 1)));
    });

    it('keeps unread counts per user across two devices; reading and sending lower them', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const bobPhone = bob;
      const bobLaptop = { ...bob, token: await token({ sub: bob.id, role: 'customer', name: bob.name }) };
      const conversationId = await direct(ann, bob);
      const sent = [];
      for (const body of ['one', 'two', 'three']) sent.push(await send(ann, conversationId, body));
      expect(await unread(bobPhone, conversationId)).toBe(3);
      expect(await unread(bobLaptop, conversationId)).toBe(3);
      expect(await unread(ann, conversationId)).toBe(0);
      expect((await httpData(t.url, UnreadNotificationCountDocument, {}, bobPhone.token)).unreadNotificationCount).toBe(3);

      const marked = await httpData(t.url, MarkConversationReadDocument, { conversationId, messageId: sent[1]!.id }, bobLaptop.token);
      expect(marked.markConversationRead).toEqual({ id: conversationId, unreadCount: 1 });
      expect(await unread(bobPhone, conversationId)).toBe(1);
      // The MESSAGE notifications of what was read are read too.
      expect((await httpData(t.url, UnreadNotificationCountDocument, {}, bobPhone.token)).unreadNotificationCount).toBe(1);
      // Marking an older message does not move the mark back.
      await httpData(t.url, MarkConversationReadDocument, { conversationId, messageId: sent[0]!.id }, bobPhone.token);
      expect(await unread(bobLaptop, conversationId)).toBe(1);

      // Sending counts as reading.
      await send(bobPhone, conversationId, 'Got them');
      expect(await unread(bobLaptop, conversationId)).toBe(0);
      expect((await httpData(t.url, UnreadNotificationCountDocument, {}, bobLaptop.token)).unreadNotificationCount).toBe(0);
      expect(await unread(ann, conversationId)).toBe(1);
      const listed = await httpData(t.url, ChatConversationsDocument, {}, ann.token);
      expect(listed.conversations.edges[0]!.node).toMatchObject({ id: conversationId, unreadCount: 1, lastMessage: { body: 'Got them' } });
    });

    it('turns a plain SQL insert into messageAdded, a notification and read state, and refuses bad rows', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await direct(ann, bob);
      const otherConversation = await direct(ann, eve);
      const warmup = await send(bob, conversationId, 'warm-up');
      const foreign = await send(eve, otherConversation, 'elsewhere');
      const stream = ws(bob).subscribe(MessageAddedDocument, { conversationId, since: warmup.id });
      await t.sql(`insert into messages (conversation_id, sender_id, body, reply_to_id) values ($1, $2, 'From psql', $3)`, [conversationId, ann.id, warmup.id]);
      const [event] = await stream.take(1);
      expect(event!.messageAdded).toMatchObject({ body: 'From psql', sender: { id: ann.id }, replyTo: { id: warmup.id }, conversationId });
      expect(await unread(bob, conversationId)).toBe(1);
      expect(await unread(ann, conversationId)).toBe(0);
      expect(await count(`select count(*)::int as count from notifications where kind = 'MESSAGE' and user_id = $1`, [bob.id])).toBe(1);

      const before = await chatState();
      // Not a participant; a reply into another conversation; an empty body.
      await expect(t.sql(`insert into messages (conversation_id, sender_id, body) values ($1, $2, 'intruder')`, [conversationId, eve.id])).rejects.toThrow();
      await expect(
        t.sql(`insert into messages (conversation_id, sender_id, body, reply_to_id) values ($1, $2, 'cross', $3)`, [conversationId, ann.id, foreign.id]),
      ).rejects.toThrow();
      await expect(t.sql(`insert into messages (conversation_id, sender_id, body) values ($1, $2, '')`, [conversationId, ann.id])).rejects.toThrow();
      expect(await chatState()).toEqual(before);
    });
  });

  describe('typing', () => {
    type Signal = TypingSubscription['typing'];

    /** Reads a typing stream until `wanted`, keeping every signal it passes in `log`. */
    async function until(subscription: Subscription<TypingSubscription>, log: Signal[], wanted: (signal: Signal) => boolean): Promise<Signal> {
      for (;;) {
        const signal = (await subscription.next(TYPING_LAPSE_MS + 5000)).typing;
        log.push(signal);
        if (wanted(signal)) return signal;
      }
    }

    it('shows typing to the others, never to the typist, and ends it when the typist sends', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const annTyping = ws(ann).subscribe(TypingDocument, { conversationId });
      const bobTyping = ws(bob).subscribe(TypingDocument, { conversationId });
      const typing = (user: Person, on: boolean) => httpData(t.url, SetTypingDocument, { conversationId, typing: on }, user.token);
      const annGot: Signal[] = [];
      const bobGot: Signal[] = [];

      const sentAt = Date.now();
      const annSeen = await untilSeen(bobTyping, () => typing(ann, true));
      bobGot.push(annSeen);
      expect(annSeen).toMatchObject({ conversationId, typing: true, user: { id: ann.id } });
      expect(Date.parse(annSeen.expiresAt)).toBeGreaterThan(sentAt);
      expect(Date.parse(annSeen.expiresAt)).toBeLessThanOrEqual(Date.now() + TYPING_LAPSE_MS + 1000);
      annGot.push(await untilSeen(annTyping, () => typing(bob, true)));
      // Both stop; each side hears the other stop.
      await typing(ann, false);
      await typing(bob, false);
      await until(bobTyping, bobGot, (signal) => !signal.typing);
      await until(annTyping, annGot, (signal) => !signal.typing);

      // Sending ends typing at once, well before the lapse.
      await typing(ann, true);
      const started = await until(bobTyping, bobGot, () => true);
      expect(started.typing).toBe(true);
      await send(ann, conversationId, 'done typing');
      const ended = await until(bobTyping, bobGot, () => true);
      expect(ended).toMatchObject({ typing: false, user: { id: ann.id } });
      expect(Date.parse(ended.expiresAt)).toBeLessThan(Date.parse(started.expiresAt));

      // A last signal from Bob: Ann's stream holds only Bob's signals, and Bob's only Ann's.
      await typing(bob, true);
      await until(annTyping, annGot, (signal) => signal.typing);
      expect(annGot.every((signal) => signal.user.id === bob.id)).toBe(true);
      expect(bobGot.every((signal) => signal.user.id === ann.id)).toBe(true);
    });

    it('lapses a typing signal that is not renewed, and a renewal postpones the lapse', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const bobTyping = ws(bob).subscribe(TypingDocument, { conversationId });
      const typing = (on: boolean) => httpData(t.url, SetTypingDocument, { conversationId, typing: on }, ann.token);
      const log: Signal[] = [];

      await untilSeen(bobTyping, () => typing(true));
      // Nobody sends typing=false: the server does, once the last typing=true has lapsed.
      const lapse = await until(bobTyping, log, (signal) => !signal.typing);
      const lastStart = [...log].reverse().find((signal) => signal.typing);
      expect(lapse.user.id).toBe(ann.id);
      if (lastStart) expect(Date.parse(lapse.expiresAt)).toBeGreaterThanOrEqual(Date.parse(lastStart.expiresAt) - 50);

      await typing(true);
      const first = (await bobTyping.next()).typing;
      expect(first.typing).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, TYPING_LAPSE_MS / 2));
      await typing(true);
      // The renewal comes next, not a lapse of the first signal.
      const renewal = (await bobTyping.next()).typing;
      expect(renewal.typing).toBe(true);
      expect(Date.parse(renewal.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
      const lapsed = (await bobTyping.next(TYPING_LAPSE_MS + 5000)).typing;
      expect(lapsed.typing).toBe(false);
      expect(Date.parse(lapsed.expiresAt)).toBeGreaterThanOrEqual(Date.parse(renewal.expiresAt) - 50);
      expect(await count('select count(*)::int as count from messages where conversation_id = $1', [conversationId])).toBe(0);
    });
  });

  describe('rate limits', () => {
    it('allows 30 messages per 10 s per user, then RATE_LIMITED with retryAfterMs', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      for (let i = 0; i < 30; i += 1) await send(ann, conversationId, `m${i}`);
      const refused = await httpRequest(t.url, SendMessageDocument, { input: { conversationId, body: 'one too many' } }, ann.token);
      expect(errorCode(refused)).toBe('RATE_LIMITED');
      const retryAfterMs = refused.errors![0]!.extensions!['retryAfterMs'] as number;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(10_000);
      expect(await count('select count(*)::int as count from messages where conversation_id = $1', [conversationId])).toBe(30);
      // The limit is per user: Bob still sends.
      await send(bob, conversationId, 'my turn');
    });

    it('does not count messages refused for access, nor, after its first refusal, those of a partner that left the order', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await direct(ann, bob);
      for (let i = 0; i < 31; i += 1) {
        expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId, body: `no ${i}` } }, eve.token))).toBe('NOT_FOUND');
      }
      const evesOwn = await direct(eve, bob);
      await send(eve, evesOwn, 'still allowed');

      const customer = await people.customer();
      const fixer = await people.partner({ partnerId: 'limit-leavers' });
      const orderId = await newOrder(customer, 'limit-leavers');
      const orderConversation = (await httpData(t.url, OrderConversationDocument, { orderId }, customer.token)).orderConversation.id;
      await send(fixer, orderConversation, 'on my way');
      await t.sql('update orders set partner_id = null where id = $1', [orderId]);
      // Its check passed a moment ago; the insert's trigger refuses it now, and it is named.
      expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId: orderConversation, body: 'still here?' } }, fixer.token))).toBe('NOT_FOUND');
      for (let i = 0; i < 30; i += 1) {
        expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId: orderConversation, body: `gone ${i}` } }, fixer.token))).toBe('NOT_FOUND');
      }
      expect(await count(`select count(*)::int as count from messages where sender_id = $1 and body <> 'on my way'`, [fixer.id])).toBe(0);
      expect(await count(`select count(*)::int as count from messages where sender_id = $1 and conversation_id = $2`, [eve.id, conversationId])).toBe(0);
      const fixersOwn = await direct(fixer, customer);
      await send(fixer, fixersOwn, 'elsewhere I still write');
    });

    it('allows 5 typing signals per second per user', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const results = [];
      for (let i = 0; i < 6; i += 1) results.push(await httpRequest(t.url, SetTypingDocument, { conversationId, typing: i % 2 === 0 }, ann.token));
      const codes = results.map(errorCode);
      // Six calls in well under a second: the sixth is refused.
      expect(codes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(codes[5]).toBe('RATE_LIMITED');
      const retryAfterMs = results[5]!.errors![0]!.extensions!['retryAfterMs'] as number;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(1000);
    });

    if (backend === 'postgres+redis') {
      it('counts sends in one window across the processes of a cluster', async () => {
        const second = await createServer(loadConfig(t.env));
        await second.start();
        try {
          const ann = await people.customer();
          const bob = await people.customer();
          const conversationId = await direct(ann, bob);
          for (let i = 0; i < 30; i += 1) {
            const url = i % 2 ? t.url : second.url;
            await httpData(url, SendMessageDocument, { input: { conversationId, body: `m${i}` } }, ann.token);
          }
          for (const url of [t.url, second.url]) {
            expect(errorCode(await httpRequest(url, SendMessageDocument, { input: { conversationId, body: 'no' } }, ann.token))).toBe('RATE_LIMITED');
          }
        } finally {
          await second.stop();
        }
      });
    }
  });

  describe('bad input gets its contract error and changes nothing', () => {
    it('refuses bad sendMessage input with BAD_USER_INPUT naming the field', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await direct(ann, bob);
      const elsewhere = await direct(ann, eve);
      const foreign = await send(ann, elsewhere, 'elsewhere');
      const mine = await send(ann, conversationId, 'first', { clientMessageId: 'k-1' });
      const before = await chatState();
      const cases: [SendMessageMutationVariables['input'], string][] = [
        [{ conversationId, body: '' }, 'input.body'],
        [{ conversationId, body: ' \n\t ' }, 'input.body'],
        [{ conversationId, body: 'x'.repeat(4001) }, 'input.body'],
        [{ conversationId: 'abc', body: 'hi' }, 'input.conversationId'],
        [{ conversationId, body: 'hi', replyToId: 'first' }, 'input.replyToId'],
        [{ conversationId, body: 'hi', replyToId: foreign.id }, 'input.replyToId'],
        [{ conversationId, body: 'hi', replyToId: '999999999' }, 'input.replyToId'],
        [{ conversationId, body: 'hi', clientMessageId: '' }, 'input.clientMessageId'],
        [{ conversationId, body: 'hi', clientMessageId: 'k'.repeat(201) }, 'input.clientMessageId'],
        [{ conversationId: elsewhere, body: 'hi', clientMessageId: 'k-1' }, 'input.clientMessageId'],
      ];
      for (const [input, field] of cases) {
        const result = await httpRequest(t.url, SendMessageDocument, { input }, ann.token);
        expect(errorCode(result), JSON.stringify(input).slice(0, 80)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.extensions!['field']).toBe(field);
      }
      expect(await chatState()).toEqual(before);
      // The bounds themselves are fine, and the body is trimmed before it is measured.
      const longest = await send(ann, conversationId, ` ${'y'.repeat(4000)} `);
      expect(longest.body).toHaveLength(4000);
      expect(mine.clientMessageId).toBe('k-1');
    });

    it("answers someone else's or a missing conversation with NOT_FOUND everywhere", async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await direct(ann, bob);
      const message = await send(ann, conversationId, 'private');
      const evesOwn = await direct(eve, ann);
      const evesMessage = await send(eve, evesOwn, 'hers');
      const before = await chatState();
      for (const id of [conversationId, '999999999']) {
        expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId: id, body: 'hi' } }, eve.token))).toBe('NOT_FOUND');
        expect(errorCode(await httpRequest(t.url, SetTypingDocument, { conversationId: id, typing: true }, eve.token))).toBe('NOT_FOUND');
        expect(errorCode(await httpRequest(t.url, MarkConversationReadDocument, { conversationId: id, messageId: message.id }, eve.token))).toBe('NOT_FOUND');
        expect((await httpData(t.url, ChatConversationDocument, { id }, eve.token)).conversation).toBeNull();
      }
      // A message of another conversation cannot be marked read through this one.
      expect(errorCode(await httpRequest(t.url, MarkConversationReadDocument, { conversationId: evesOwn, messageId: message.id }, eve.token))).toBe('NOT_FOUND');
      expect(errorCode(await httpRequest(t.url, MarkConversationReadDocument, { conversationId: evesOwn, messageId: 'latest' }, eve.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, SetTypingDocument, { conversationId: 'x1', typing: true }, eve.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, ChatConversationDocument, { id: 'x1' }, eve.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, ChatConversationDocument, { id: conversationId }, null))).toBe('UNAUTHENTICATED');
      expect(await chatState()).toEqual(before);
      expect(await unread(eve, evesOwn)).toBe(0);
      expect(evesMessage.sender.id).toBe(eve.id);

      // Subscriptions are refused one by one; the connection stays open.
      const socket = ws(eve);
      for (const id of [conversationId, '999999999']) {
        const messages = socket.subscribe(MessageAddedDocument, { conversationId: id });
        expect(JSON.stringify((await messages.ended.promise).error)).toContain('NOT_FOUND');
        const typing = socket.subscribe(TypingDocument, { conversationId: id });
        expect(JSON.stringify((await typing.ended.promise).error)).toContain('NOT_FOUND');
      }
      const badSince = socket.subscribe(MessageAddedDocument, { conversationId: evesOwn, since: 'yesterday' });
      expect(JSON.stringify((await badSince.ended.promise).error)).toContain('BAD_USER_INPUT');
      const ok = socket.subscribe(MessageAddedDocument, { conversationId: evesOwn, since: String(BigInt(evesMessage.id) - 1n) });
      expect((await ok.next()).messageAdded.id).toBe(evesMessage.id);
    });

    it("lets an admin read anyone's direct conversation but not write in it", async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      const message = await send(ann, conversationId, 'hello');
      expect((await httpData(t.url, ChatConversationDocument, { id: conversationId }, admin.token)).conversation?.id).toBe(conversationId);
      const before = await chatState();
      expect(errorCode(await httpRequest(t.url, SendMessageDocument, { input: { conversationId, body: 'hi' } }, admin.token))).toBe('FORBIDDEN');
      expect(errorCode(await httpRequest(t.url, SetTypingDocument, { conversationId, typing: true }, admin.token))).toBe('FORBIDDEN');
      expect(errorCode(await httpRequest(t.url, MarkConversationReadDocument, { conversationId, messageId: message.id }, admin.token))).toBe('FORBIDDEN');
      expect(await chatState()).toEqual(before);
      const participants = (await httpData(t.url, ChatConversationDocument, { id: conversationId }, ann.token)).conversation!.participants;
      expect(participants.map((user) => user.id).sort()).toEqual([ann.id, bob.id].sort());
    });

    it('bounds message page sizes and cursors', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await direct(ann, bob);
      for (const first of [0, 101, -1]) {
        const result = await httpRequest(t.url, ChatConversationDocument, { id: conversationId, first }, ann.token);
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.extensions!['field']).toBe('first');
      }
      expect(errorCode(await httpRequest(t.url, ChatConversationDocument, { id: conversationId, after: 'nope' }, ann.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, ChatConversationsDocument, { first: 0 }, ann.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await httpRequest(t.url, ChatConversationsDocument, { after: 'nope' }, ann.token))).toBe('BAD_USER_INPUT');
    });
  });

  it('leaves no PubSub subscription behind when chat subscriptions end', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const conversationId = await direct(ann, bob);
    const message = await send(ann, conversationId, 'hi');
    const socket = ws(ann);
    await socket.connected;
    const before = t.server.pubsub.activeSubscriptions();
    for (let i = 0; i < 200; i += 1) {
      const subscription = i % 2 ? socket.subscribe(MessageAddedDocument, { conversationId }) : socket.subscribe(TypingDocument, { conversationId });
      if (i % 4 < 2) await new Promise((resolve) => setImmediate(resolve));
      subscription.close();
    }
    const replay = socket.subscribe(MessageAddedDocument, { conversationId, since: String(BigInt(message.id) - 1n) });
    await replay.next();
    replay.close();
    await socket.dispose();
    await eventually(() => (t.server.pubsub.activeSubscriptions() === before ? true : undefined), 'the PubSub subscriptions to end', 10_000);
    expect(t.server.pubsub.activeSubscriptions()).toBe(before);
  });
});
