import { randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer.js';
import { checkUploads } from '../attachments/uploads.js';
import type { Config } from '../config.js';
import { viewerOf, type Context } from '../context.js';
import {
  chatLoaders,
  findMessage,
  findMessageByClientId,
  findOrderParties,
  insertMessage,
  type MessageWithSender,
  listConversations,
  listMemberIds,
  listMessagesAfter,
  markConversationRead,
  openDirectConversation,
  openOrderConversation,
} from '../db/chat.js';
import type { Db } from '../db/client.js';
import type { MessageRow } from '../db/types.js';
import { findUsers } from '../db/users.js';
import { badInput, notFound, rateLimited } from '../errors.js';
import { idAfter, type MessageCreated, type OutboxEvent, type TypingSignal } from '../pubsub/topics.js';
import type { RateLimit } from '../limits/rate-limiter.js';
import { builder } from '../schema/builder.js';
import { Conversation, ConversationConnection, Message, SendMessageInput, TypingEvent } from '../schema/chat.js';
import { partiesOf, takesPartInOrder } from '../schema/order-access.js';
import { assertStillInOrder, isOrderChange, readable, revocationChannel, writable, writableForInsert, forgetPassedCheck, type OrderChange } from './conversation-access.js';
import { loadPage, pageArgs } from '../schema/pagination.js';
import { boundedText, optional, optionalId, rowId } from '../input/arguments.js';
import { replayThenLive } from '../streams/replay.js';
import { typingStream } from '../streams/typing.js';

const CLIENT_MESSAGE_ID_MAX = 200;
/** A typing stream holds few signals; a client this far behind gets its stream ended. */
const TYPING_BUFFER = 100;

const sendLimit = (config: Config): RateLimit => ({
  name: 'sendMessage',
  limit: config.limits.sendMessagePerWindow,
  windowMs: config.limits.sendMessageWindowMs,
});

const typingLimit = (config: Config): RateLimit => ({
  name: 'setTyping',
  limit: config.limits.typingPerWindow,
  windowMs: config.limits.typingWindowMs,
});

function typingSignal(context: Context, viewer: Viewer, conversationId: string, typing: boolean): TypingSignal {
  const now = Date.now();
  return {
    id: randomUUID(),
    conversationId,
    userId: viewer.id,
    typing,
    expiresAt: new Date(typing ? now + context.services.config.typingLapseMs : now).toISOString(),
  };
}

const MENTIONS_MAX = 50;

/** Distinct ids in the order given. */
function mentionedIds(ids: readonly (string | number)[] | null | undefined): string[] {
  const distinct = [...new Set((ids ?? []).map(String))];
  if (distinct.length > MENTIONS_MAX) throw badInput('input.mentionUserIds', `at most ${MENTIONS_MAX} users`);
  return distinct;
}

/** Only other participants can be mentioned: a mention pulls someone in who is already there. */
async function checkMentions(db: Db, conversationId: string, senderId: string, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  if (userIds.includes(senderId)) throw badInput('input.mentionUserIds', 'cannot mention the sender');
  const members = new Set(await listMemberIds(db, conversationId));
  const stranger = userIds.find((id) => !members.has(id));
  if (stranger !== undefined) throw badInput('input.mentionUserIds', `${stranger} does not take part in this conversation`);
}

builder.queryFields((t) => ({
  conversation: t.field({
    type: Conversation,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => (await readable(context, rowId(String(args.id), 'id')))?.conversation ?? null,
  }),
  conversations: t.field({
    type: ConversationConnection,
    authScopes: { authenticated: true },
    args: pageArgs(t.arg, 20),
    resolve: (_root, args, context) => {
      const { config, db } = context.services;
      return loadPage(args, 20, config.limits.pageSizeMax, (page) => listConversations(db, viewerOf(context), page.beforeId, page.limit));
    },
  }),
}));

builder.mutationFields((t) => ({
  openDirectConversation: t.field({
    type: Conversation,
    description: 'Opens (or returns the existing) DIRECT conversation between the caller and userId.',
    authScopes: { authenticated: true },
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const db = context.services.db;
      const userId = String(args.userId);
      if (userId === viewer.id) throw badInput('userId', 'cannot open a conversation with yourself');
      const [other] = await findUsers(db, [userId]);
      if (!other) throw notFound('User');
      return openDirectConversation(db, viewer.id, other.id);
    },
  }),
  orderConversation: t.field({
    type: Conversation,
    description:
      "Returns the order's conversation (created on first use); the order's customer, its assigned partner's users or ADMIN.\nA partner assigned later joins it then; one unassigned leaves it.",
    authScopes: { authenticated: true },
    args: { orderId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const db = context.services.db;
      const orderId = rowId(String(args.orderId), 'orderId');
      const order = await findOrderParties(db, orderId);
      if (!order || !takesPartInOrder(viewerOf(context), partiesOf(order))) throw notFound('Order');
      return openOrderConversation(db, order.id);
    },
  }),
  sendMessage: t.field({
    type: Message,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const viewer = viewerOf(context);
      const { config, db, pubsub, rateLimiter } = context.services;
      const conversationId = rowId(String(input.conversationId), 'input.conversationId');
      const uploads = input.attachments ?? [];
      // With files, the text may be left out.
      const body = boundedText(input.body, 'input.body', { min: uploads.length > 0 ? 0 : 1, max: config.limits.messageBodyMax, trim: true });
      const replyToId = optionalId(input.replyToId, 'input.replyToId');
      const clientMessageId = optional(input.clientMessageId, (key) => boundedText(key, 'input.clientMessageId', { min: 1, max: CLIENT_MESSAGE_ID_MAX }));
      const mentionUserIds = mentionedIds(input.mentionUserIds);
      // The insert's trigger checks the sender's access in the insert's own transaction. Where
      // something of the conversation is looked up first (a retry's key, a reply, mentions) or files
      // are taken, the check runs every time; for a plain message a recent pass of this sender stands
      // in for it (a refusal by the trigger is named below).
      const plain = clientMessageId === null && replyToId === null && mentionUserIds.length === 0 && uploads.length === 0;
      await (plain ? writableForInsert(context, conversationId) : writable(context, conversationId));

      const retried = (first: MessageRow): MessageRow => {
        if (first.conversation_id !== conversationId) throw badInput('input.clientMessageId', 'was already used for a message in another conversation');
        return first;
      };
      // A retry is answered before the rate limit: it costs nothing and sends nothing.
      if (clientMessageId !== null) {
        const first = await findMessageByClientId(db, viewer.id, clientMessageId);
        if (first) return retried(first);
      }
      if (replyToId !== null) {
        const target = await findMessage(db, replyToId);
        if (!target || target.conversation_id !== conversationId) throw badInput('input.replyToId', 'must be a message of the same conversation');
      }
      await checkMentions(db, conversationId, viewer.id, mentionUserIds);
      const attachments = await checkUploads(uploads, config.attachments);
      const waitMs = await rateLimiter.hit(sendLimit(config), viewer.id);
      if (waitMs !== null) throw rateLimited(waitMs);

      let inserted: MessageWithSender | undefined;
      try {
        inserted = await insertMessage(db, { conversationId, senderId: viewer.id, body, replyToId, clientMessageId, mentionUserIds, attachments });
      } catch (error) {
        // The trigger refuses senders who lost access since their check passed (a partner
        // unassigned); the check names the refusal.
        forgetPassedCheck(context, conversationId);
        await writable(context, conversationId);
        throw error;
      }
      if (!inserted) {
        // A concurrent request with the same clientMessageId won the insert.
        const first = await findMessageByClientId(db, viewer.id, clientMessageId!);
        if (!first) throw new Error(`message with clientMessageId ${clientMessageId} vanished`);
        return retried(first);
      }
      // Sending ends the sender's typing; streams that did not show them typing drop this.
      await pubsub.publish('chat.typing', conversationId, typingSignal(context, viewer, conversationId, false));
      // The answer shows its sender, whose row came with the insert.
      chatLoaders(db).user.prime(inserted.sender.id, inserted.sender);
      return inserted.message;
    },
  }),
  markConversationRead: t.field({
    type: Conversation,
    description: 'Marks every message of the conversation up to and including messageId as read by the caller.',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }), messageId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const db = context.services.db;
      const conversationId = rowId(String(args.conversationId), 'conversationId');
      const messageId = rowId(String(args.messageId), 'messageId');
      const conversation = await writable(context, conversationId);
      const message = await findMessage(db, messageId);
      if (!message || message.conversation_id !== conversationId) throw notFound('Message');
      await db.transaction().execute((trx) => markConversationRead(trx, conversationId, viewer.id, messageId));
      return conversation;
    },
  }),
  setTyping: t.boolean({
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }), typing: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = viewerOf(context);
      const { config, pubsub, rateLimiter } = context.services;
      const conversationId = rowId(String(args.conversationId), 'conversationId');
      await writable(context, conversationId);
      const waitMs = await rateLimiter.hit(typingLimit(config), viewer.id);
      if (waitMs !== null) throw rateLimited(waitMs);
      // Ephemeral: straight to the PubSub, never the database; each subscriber keeps the lapse.
      await pubsub.publish('chat.typing', conversationId, typingSignal(context, viewer, conversationId, args.typing));
      return true;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  messageAdded: t.field({
    type: Message,
    description: 'New messages of a conversation the caller takes part in. With since, replays later messages first.',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }), since: t.arg.id() },
    subscribe: async (_root, args, context) => {
      const { db, pubsub } = context.services;
      const viewer = viewerOf(context);
      const conversationId = rowId(String(args.conversationId), 'conversationId');
      const since = optionalId(args.since, 'since');
      const access = await readable(context, conversationId);
      if (!access) throw notFound('Conversation');
      const revocations = revocationChannel(viewer, access.conversation);
      const live = await pubsub.subscribe<'message.created' | 'order.byId'>([['message.created', conversationId], ...(revocations ? [revocations] : [])]);
      const loadMessage = chatLoaders(db).message;
      return replayThenLive({
        live,
        guard: (event) => {
          if (event.topic === 'message.created') return true;
          assertStillInOrder(viewer, event as OrderChange);
          return false;
        },
        since,
        replay: (afterId, limit) => listMessagesAfter(db, conversationId, afterId, limit),
        itemId: (row) => row.id,
        eventItemId: (event) => (event as OutboxEvent<MessageCreated>).payload.messageId,
        load: async (event) => (await loadMessage((event as OutboxEvent<MessageCreated>).payload.messageId)) ?? null,
        isAfter: idAfter,
      });
    },
    resolve: (row) => row,
  }),
  typing: t.field({
    type: TypingEvent,
    description: "Others' typing signals in a conversation the caller takes part in; never the caller's own.",
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context) => {
      const { config, pubsub } = context.services;
      const viewer = viewerOf(context);
      const conversationId = rowId(String(args.conversationId), 'conversationId');
      const access = await readable(context, conversationId);
      if (!access) throw notFound('Conversation');
      const revocations = revocationChannel(viewer, access.conversation);
      const live = await pubsub.subscribe<'chat.typing' | 'order.byId'>([['chat.typing', conversationId], ...(revocations ? [revocations] : [])], {
        dedupe: false,
        limit: TYPING_BUFFER,
      });
      return typingStream({
        live,
        guard: (event): event is TypingSignal => {
          if (!isOrderChange(event)) return true;
          assertStillInOrder(viewer, event);
          return false;
        },
        viewerId: viewer.id,
        lapseMs: config.typingLapseMs,
      });
    },
    resolve: (signal) => signal,
  }),
}));
