import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationExtrasDocument,
  MarkConversationReadDocument,
  NotificationKindsDocument,
  OrderConversationDocument,
  UnreadCountChangedDocument,
  ReadReceiptChangedDocument,
  SendRichMessageDocument,
  SetNotificationPreferenceDocument,
} from './generated/graphql.js';
import { errorCode, httpData, httpRequest, wsConnect, type WsConnection } from './support/clients.js';
import { BACKENDS, startServerProcess, startTestServer, type TestServer } from './support/server.js';
import { createAssignedOrder, newPeople, openDirect, type Person } from './support/world.js';

/** Mentions and read receipts: contract part "chat". */
describe.each(BACKENDS)('mentions and read receipts on %s', (backend) => {
  let t: TestServer;
  let admin: Person;
  const sockets: WsConnection[] = [];
  const people = newPeople(() => t, 'mnr');

  function ws(user: Person): WsConnection {
    const connection = wsConnect(t.url, { authorization: `Bearer ${user.token}` });
    sockets.push(connection);
    return connection;
  }

  /**
   * A read-receipt stream, live when this returns: a later subscription on the
   * same socket that answers at once (the unread count starts with the current
   * state) shows that the ones opened before it are set up.
   */
  async function liveReceipts(user: Person, conversationId: string) {
    const socket = ws(user);
    const receipts = socket.subscribe(ReadReceiptChangedDocument, { conversationId });
    await socket.subscribe(UnreadCountChangedDocument).next();
    return receipts;
  }

  const send = (user: Person, conversationId: string, body: string, mentionUserIds?: string[]) =>
    httpRequest(t.url, SendRichMessageDocument, { input: { conversationId, body, mentionUserIds } }, user.token);

  async function notifications(user: Person) {
    return (await httpData(t.url, NotificationKindsDocument, {}, user.token)).notifications.edges.map((edge) => edge.node);
  }

  async function counts() {
    const [row] = await t.sql<{ messages: number; notifications: number; events: number }>(
      `select (select count(*)::int from messages) as messages, (select count(*)::int from notifications) as notifications,
              (select count(*)::int from outbox) as events`,
    );
    return row!;
  }

  async function receipts(conversationId: string, user: Person) {
    return (await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, user.token)).conversation!.readReceipts;
  }

  const markRead = (user: Person, conversationId: string, messageId: string) =>
    httpData(t.url, MarkConversationReadDocument, { conversationId, messageId }, user.token);

  beforeAll(async () => {
    t = await startTestServer(backend);
    admin = await people.admin();
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  describe('mentions', () => {
    it('gives each mentioned participant one HIGH MENTION notification instead of the MESSAGE one', async () => {
      const customer = await people.customer();
      const partner = await people.partner({ partnerId: 'mnr-one' });
      const colleague = await people.partner({ partnerId: 'mnr-one' });
      const orderId = await createAssignedOrder(t, customer, partner, admin);
      const conversationId = (await httpData(t.url, OrderConversationDocument, { orderId }, customer.token)).orderConversation.id;
      const before = { partner: await notifications(partner), colleague: await notifications(colleague) };

      const sent = await send(customer, conversationId, 'Can you bring a ladder?', [partner.id, partner.id]);
      expect(sent.errors).toBeUndefined();
      expect(sent.data!.sendMessage.mentions.map((user) => user.id)).toEqual([partner.id]);
      const [mention] = await notifications(partner);
      expect(mention).toMatchObject({ kind: 'MENTION', priority: 'HIGH', title: `${customer.name} mentioned you` });
      expect((await notifications(partner)).length).toBe(before.partner.length + 1);
      // Not mentioned: the ordinary notification.
      expect((await notifications(colleague))[0]).toMatchObject({ kind: 'MESSAGE', priority: 'NORMAL' });
      expect((await notifications(colleague)).length).toBe(before.colleague.length + 1);

      // Reading the conversation reads the mention too.
      await markRead(partner, conversationId, sent.data!.sendMessage.id);
      const [row] = await t.sql<{ unread: number }>(`select count(*)::int as unread from notifications where user_id = $1 and kind = 'MENTION' and read_at is null`, [
        partner.id,
      ]);
      expect(row!.unread).toBe(0);
    });

    it('applies the MENTION preference, per kind', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await openDirect(t, ann, bob);
      await httpData(t.url, SetNotificationPreferenceDocument, { kind: 'MENTION', inApp: false }, bob.token);
      const before = await notifications(bob);
      expect((await send(ann, conversationId, 'Psst', [bob.id])).errors).toBeUndefined();
      expect(await notifications(bob)).toEqual(before);
      // MESSAGE notifications still come for messages that do not mention bob.
      expect((await send(ann, conversationId, 'Plain')).errors).toBeUndefined();
      expect((await notifications(bob))[0]).toMatchObject({ kind: 'MESSAGE' });
    });

    it('refuses the sender, strangers and unknown users, and sends nothing', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await openDirect(t, ann, bob);
      const before = await counts();
      for (const ids of [[ann.id], [eve.id], ['nobody-at-all'], [bob.id, eve.id]]) {
        const refused = await send(ann, conversationId, 'Hey', ids);
        expect(errorCode(refused)).toBe('BAD_USER_INPUT');
        expect(refused.errors![0]!.extensions?.['field']).toBe('input.mentionUserIds');
      }
      expect(await counts()).toEqual(before);
    });
  });

  describe('read receipts', () => {
    it('shows the others where each participant has read to, forward only, live and stored', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await openDirect(t, ann, bob);
      const annLive = await liveReceipts(ann, conversationId);
      const bobLive = await liveReceipts(bob, conversationId);
      expect(await receipts(conversationId, ann)).toEqual([]);

      // Sending counts as reading: ann's position moves with her own message.
      const first = (await send(ann, conversationId, 'One')).data!.sendMessage.id;
      const second = (await send(ann, conversationId, 'Two')).data!.sendMessage.id;
      expect((await bobLive.next()).readReceiptChanged).toMatchObject({ user: { id: ann.id }, lastReadMessageId: first });
      expect((await bobLive.next()).readReceiptChanged).toMatchObject({ user: { id: ann.id }, lastReadMessageId: second });

      await markRead(bob, conversationId, first);
      const seenByAnn = (await annLive.next()).readReceiptChanged;
      expect(seenByAnn).toMatchObject({ conversationId, lastReadMessageId: first, user: { id: bob.id } });
      expect(await receipts(conversationId, ann)).toEqual([expect.objectContaining({ lastReadMessageId: first, user: { id: bob.id } })]);
      // The caller's own position is not in their list.
      expect((await receipts(conversationId, bob)).map((receipt) => receipt.user.id)).toEqual([ann.id]);

      // Backwards leaves it where it is, and says nothing.
      await markRead(bob, conversationId, second);
      await markRead(bob, conversationId, first);
      expect((await annLive.next()).readReceiptChanged.lastReadMessageId).toBe(second);
      expect((await receipts(conversationId, ann))[0]!.lastReadMessageId).toBe(second);
      const [row] = await t.sql<{ events: number }>(
        `select count(*)::int as events from outbox where topic = 'conversation.read' and payload ->> 'conversationId' = $1 and payload ->> 'userId' = $2`,
        [conversationId, bob.id],
      );
      expect(row!.events).toBe(2);

      // Nothing of bob's own reached bob's stream: the next thing it gets is ann's move.
      const third = (await send(ann, conversationId, 'Three')).data!.sendMessage.id;
      const next = (await bobLive.next()).readReceiptChanged;
      expect(next).toMatchObject({ user: { id: ann.id }, lastReadMessageId: third });
    });

    it('turns a plain SQL change of the read position into the same event', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const conversationId = await openDirect(t, ann, bob);
      const first = (await send(ann, conversationId, 'Hi')).data!.sendMessage.id;
      const annLive = await liveReceipts(ann, conversationId);
      await t.sql(
        `insert into conversation_participants (conversation_id, user_id, last_read_message_id) values ($1, $2, $3)
         on conflict (conversation_id, user_id) do update set last_read_message_id = excluded.last_read_message_id, updated_at = now()`,
        [conversationId, bob.id, first],
      );
      expect((await annLive.next()).readReceiptChanged).toMatchObject({ user: { id: bob.id }, lastReadMessageId: first });
    });

    it('refuses strangers as for messages', async () => {
      const ann = await people.customer();
      const bob = await people.customer();
      const eve = await people.customer();
      const conversationId = await openDirect(t, ann, bob);
      const refused = ws(eve).subscribe(ReadReceiptChangedDocument, { conversationId });
      expect(JSON.stringify((await refused.ended.promise).error)).toContain('NOT_FOUND');
      expect((await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, eve.token)).conversation).toBeNull();
    });
  });
});

/** Read receipts are outbox events and rows: they reach the other process of a cluster and outlive a process (PostgreSQL + Redis; the embedded backend is one process by nature). */
describe('read receipts across a cluster', () => {
  let t: TestServer;
  const people = newPeople(() => t, 'mnrc');

  beforeAll(async () => {
    t = await startTestServer('postgres+redis');
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('reach a subscriber on another process, and a new process still lists them', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const conversationId = await openDirect(t, ann, bob);
    const first = (await httpData(t.url, SendRichMessageDocument, { input: { conversationId, body: 'Across' } }, ann.token)).sendMessage.id;
    const other = await startServerProcess(t.env);
    const socket = wsConnect(other.url, { authorization: `Bearer ${ann.token}` });
    try {
      const live = socket.subscribe(ReadReceiptChangedDocument, { conversationId });
      // Live once a later subscription on the same socket has answered.
      await socket.subscribe(UnreadCountChangedDocument).next();
      await httpData(t.url, MarkConversationReadDocument, { conversationId, messageId: first }, bob.token);
      expect((await live.next()).readReceiptChanged).toMatchObject({ user: { id: bob.id }, lastReadMessageId: first });
    } finally {
      await socket.dispose();
      await other.kill();
    }
    const restarted = await startServerProcess(t.env);
    try {
      const listed = (await httpData(restarted.url, ConversationExtrasDocument, { id: conversationId }, ann.token)).conversation!.readReceipts;
      expect(listed).toEqual([expect.objectContaining({ lastReadMessageId: first, user: { id: bob.id } })]);
    } finally {
      await restarted.kill();
    }
  });
});

