import { viewerOf } from '../context.js';
import { notFound } from '../errors.js';
import type { ConversationRead, OutboxEvent } from '../pubsub/topics.js';
import { builder } from '../schema/builder.js';
import { ReadReceipt } from '../schema/chat.js';
import { rowId } from '../input/arguments.js';
import { readReceiptStream } from '../streams/read-receipts.js';
import { assertStillInOrder, isOrderChange, readable, revocationChannel } from './conversation-access.js';

builder.subscriptionFields((t) => ({
  readReceiptChanged: t.field({
    type: ReadReceipt,
    description: "Other participants' read positions as they move, in a conversation the caller takes part in.",
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context) => {
      const { pubsub } = context.services;
      const viewer = viewerOf(context);
      const conversationId = rowId(String(args.conversationId), 'conversationId');
      const access = await readable(context, conversationId);
      if (!access) throw notFound('Conversation');
      const revocations = revocationChannel(viewer, access.conversation);
      const live = await pubsub.subscribe<'conversation.read' | 'order.byId'>([['conversation.read', conversationId], ...(revocations ? [revocations] : [])]);
      return readReceiptStream({
        live,
        guard: (event): event is OutboxEvent<ConversationRead> => {
          if (event.topic === 'conversation.read') return true;
          if (isOrderChange(event)) assertStillInOrder(viewer, event);
          return false;
        },
        viewerId: viewer.id,
      });
    },
    resolve: (receipt) => receipt,
  }),
}));
