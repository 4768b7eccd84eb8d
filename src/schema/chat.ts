import { viewerOf } from '../context.js';
import { attachmentLoaders } from '../db/attachments.js';
import { chatLoaders, countUnreadMessages, lastMessage, listMessages, listParticipants, listReadReceipts, type ReadReceiptRow } from '../db/chat.js';
import { orderLoaders } from '../db/orders.js';
import type { ConversationRow, MessageRow } from '../db/types.js';
import type { TypingSignal } from '../pubsub/topics.js';
import { Attachment, FileScalar } from './attachments.js';
import { builder } from './builder.js';
import { Order } from './orders.js';
import { connectionType, loadPage, pageArgs } from './pagination.js';
import { PER_VIEWER } from './field-extensions.js';
import { DateTime } from './scalars.js';
import { User } from './users.js';

export const ConversationKind = builder.enumType('ConversationKind', { values: ['ORDER', 'DIRECT'] as const });

export const MessageKind = builder.enumType('MessageKind', {
  values: {
    TEXT: { description: 'Written by a participant.' },
    SYSTEM: { description: 'Posted by the server into an ORDER conversation when its order changes status or partner.' },
  } as const,
});

export const Message = builder.objectRef<MessageRow>('Message');

Message.implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Opaque; strictly increasing in creation order within a conversation.' }),
    conversationId: t.id({ resolve: (row) => row.conversation_id }),
    conversation: t.field({
      type: Conversation,
      description: "The message's conversation: whoever may see a message takes part in it.",
      resolve: async (row, _args, { services }) => {
        const conversation = await chatLoaders(services.db).conversation(row.conversation_id);
        if (!conversation) throw new Error(`conversation ${row.conversation_id} of message ${row.id} is missing`);
        return conversation;
      },
    }),
    sender: t.field({
      type: User,
      resolve: async (row, _args, { services }) => {
        const sender = await chatLoaders(services.db).user(row.sender_id);
        // messages.sender_id references users: a missing row is a broken invariant, not a client error.
        if (!sender) throw new Error(`sender ${row.sender_id} of message ${row.id} has no user row`);
        return sender;
      },
    }),
    body: t.exposeString('body'),
    replyTo: t.field({
      type: Message,
      nullable: true,
      // The reply key keeps replyTo inside the same conversation, so whoever sees this message may see that one.
      resolve: async (row, _args, { services }) => (row.reply_to_id ? ((await chatLoaders(services.db).message(row.reply_to_id)) ?? null) : null),
    }),
    clientMessageId: t.exposeString('client_message_id', { nullable: true, description: "The sender's idempotency key, echoed back." }),
    createdAt: t.field({ type: DateTime, resolve: (row) => row.created_at }),
    kind: t.field({ type: MessageKind, resolve: (row) => row.kind }),
    attachments: t.field({
      type: [Attachment],
      description: 'In the order they were sent.',
      resolve: async (row, _args, { services }) => (await attachmentLoaders(services.db).byMessage(row.id)) ?? [],
    }),
    mentions: t.field({
      type: [User],
      description: 'Participants the sender mentioned.',
      resolve: async (row, _args, { services }) => {
        const users = await Promise.all(row.mention_user_ids.map((id) => chatLoaders(services.db).user(id)));
        return users.filter((user) => user !== undefined);
      },
    }),
  }),
});

export const ReadReceipt = builder.objectRef<ReadReceiptRow>('ReadReceipt').implement({
  fields: (t) => ({
    conversationId: t.exposeID('conversationId'),
    user: t.field({
      type: User,
      resolve: async (receipt, _args, { services }) => {
        const reader = await chatLoaders(services.db).user(receipt.userId);
        // Only users who read (a mutation of theirs, or a message they sent) have a position.
        if (!reader) throw new Error(`reader ${receipt.userId} has no user row`);
        return reader;
      },
    }),
    lastReadMessageId: t.exposeID('lastReadMessageId', { description: 'The newest message this participant has read.' }),
    readAt: t.field({ type: DateTime, resolve: (receipt) => receipt.readAt }),
  }),
});

export const MessageConnection = connectionType('Message', Message);

export const Conversation = builder.objectRef<ConversationRow>('Conversation');

Conversation.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: ConversationKind, resolve: (row) => row.kind }),
    order: t.field({
      type: Order,
      nullable: true,
      description: "Set when kind is ORDER: the order's customer and assigned partner users talk here.",
      // Whoever sees an order's conversation sees the order: both follow the order's customer and partner.
      resolve: async (row, _args, { services }) => (row.order_id ? ((await orderLoaders(services.db).order(row.order_id)) ?? null) : null),
    }),
    participants: t.field({
      type: [User],
      resolve: (row, _args, { services }) => listParticipants(services.db, row.id),
    }),
    lastMessage: t.field({
      type: Message,
      nullable: true,
      resolve: async (row, _args, { services }) => (await lastMessage(services.db, row.id)) ?? null,
    }),
    unreadCount: t.int({
      description: 'Messages from others that the caller has not read yet.',
      // Never shared between viewers by a subscription's shared execution.
      extensions: { [PER_VIEWER]: true },
      resolve: (row, _args, context) => countUnreadMessages(context.services.db, row.id, viewerOf(context).id),
    }),
    readReceipts: t.field({
      type: [ReadReceipt],
      description: 'Read positions of the other participants (read receipts); those who have read nothing yet are left out.',
      // Leaves the caller out: never shared between viewers.
      extensions: { [PER_VIEWER]: true },
      resolve: (row, _args, context) => listReadReceipts(context.services.db, row.id, viewerOf(context).id),
    }),
    messages: t.field({
      type: MessageConnection,
      args: pageArgs(t.arg, 50),
      resolve: (row, args, { services }) =>
        loadPage(args, 50, services.config.limits.pageSizeMax, (page) => listMessages(services.db, row.id, page.beforeId, page.limit)),
    }),
  }),
});

export const ConversationConnection = connectionType('Conversation', Conversation);

export const TypingEvent = builder.objectRef<TypingSignal>('TypingEvent').implement({
  fields: (t) => ({
    conversationId: t.exposeID('conversationId'),
    user: t.field({
      type: User,
      resolve: async (signal, _args, { services }) => {
        const typist = await chatLoaders(services.db).user(signal.userId);
        // Only provisioned callers can send a signal.
        if (!typist) throw new Error(`typist ${signal.userId} has no user row`);
        return typist;
      },
    }),
    typing: t.exposeBoolean('typing'),
    expiresAt: t.field({
      type: DateTime,
      description: 'When a typing=true signal lapses unless renewed.',
      resolve: (signal) => signal.expiresAt,
    }),
  }),
});

export const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    conversationId: t.id({ required: true }),
    body: t.string({ required: true }),
    replyToId: t.id({ required: false }),
    clientMessageId: t.string({
      required: false,
      description: 'Idempotency key: a retry with the same key returns the first message and sends nothing new.',
    }),
    mentionUserIds: t.idList({
      required: false,
      description: 'Participants to mention (not the sender); each gets a MENTION notification instead of the MESSAGE one.',
    }),
    attachments: t.field({ type: [FileScalar], required: false, description: 'Files sent with the message (GraphQL multipart request).' }),
  }),
});
