import type { Viewer } from '../auth/viewer.js';
import { viewerOf, type Context } from '../context.js';
import { perDatabase } from '../db/batch.js';
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

/** How long a sender's passed check stands in for the next ones of a plain message (see writableForInsert). */
const PASSED_CHECK_MS = 30_000;
/** Senders and conversations remembered per process; the oldest is forgotten first. */
const PASSED_CHECKS_MAX = 10_000;

/** Per database (tests run several servers in one process): when each sender's check last passed. */
const passedChecks = perDatabase((): Map<string, number> => new Map());

/**
 * writable() for a write whose own statement checks access again (a plain
 * message: the insert's trigger refuses a sender without access, in the
 * insert's transaction). A sender whose check passed in the last
 * PASSED_CHECK_MS is not asked again: a member who lost access since gets the
 * trigger's refusal, which the caller names with writable(). Someone who never
 * passed is always checked, so their refusal comes before anything is counted.
 */
export async function writableForInsert(context: Context, conversationId: string): Promise<void> {
  const checks = passedChecks(context.services.db);
  const key = passedCheckKey(context, conversationId);
  const passedAt = checks.get(key);
  if (passedAt !== undefined && Date.now() - passedAt < PASSED_CHECK_MS) return;
  await writable(context, conversationId);
  checks.delete(key);
  if (checks.size >= PASSED_CHECKS_MAX) checks.delete(checks.keys().next().value!);
  checks.set(key, Date.now());
}

/** After a refused write: the sender's next plain message is checked again first. */
export function forgetPassedCheck(context: Context, conversationId: string): void {
  passedChecks(context.services.db).delete(passedCheckKey(context, conversationId));
}

function passedCheckKey(context: Context, conversationId: string): string {
  return `${viewerOf(context).id}\u0000${conversationId}`;
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
