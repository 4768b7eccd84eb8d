import type { Viewer } from '../auth/viewer.js';
import { viewerOf, type Context } from '../context.js';
import { findConversationAccess, type ConversationAccess } from '../db/chat.js';
import type { ConversationRow } from '../db/types.js';
import { forbidden, notFound } from '../errors.js';
import type { Channel } from '../pubsub/index.js';
import type { OrderChanged, OutboxEvent } from '../pubsub/topics.js';
import { takesPartInOrder } from '../schema/order-access.js';

/** Members read; so do admins (they see everything). Anyone else: as if it did not exist. */
export async function readable(context: Context, conversationId: string): Promise<ConversationAccess | null> {
  const viewer = viewerOf(context);
  const access = await findConversationAccess(context.services.db, conversationId, viewer.id);
  if (!access || !(access.member || viewer.role === 'ADMIN')) return null;
  return access;
}

/**
 * Members write (send, type, mark read); an admin may join an order's
 * conversation by doing so, but not someone else's direct conversation.
 */
export async function writable(context: Context, conversationId: string): Promise<ConversationRow> {
  const access = await readable(context, conversationId);
  if (!access) throw notFound('Conversation');
  if (!access.member && access.conversation.kind !== 'ORDER') throw forbidden('Only its two participants write in a direct conversation');
  return access.conversation;
}

export type OrderChange = OutboxEvent<OrderChanged>;

/**
 * Where a subscriber hears that they may have left an order's conversation
 * (its partner was unassigned or changed): the order's own events, one per
 * change, so no access check runs per message. Admins and the pair of a
 * direct conversation cannot lose access: null.
 */
export function revocationChannel(viewer: Viewer, conversation: ConversationRow): Channel<'order.byId'> | null {
  if (conversation.order_id === null || viewer.role === 'ADMIN') return null;
  return ['order.byId', conversation.order_id];
}

export function isOrderChange(event: { id: string }): event is OrderChange {
  return 'topic' in event && 'payload' in event;
}

/** Ends the stream (as NOT_FOUND, like a fresh subscribe would answer) once the order no longer includes the viewer. */
export function assertStillInOrder(viewer: Viewer, change: OrderChange): void {
  if (!takesPartInOrder(viewer, change.payload)) throw notFound('Conversation');
}
