import { sql, type Transaction } from 'kysely';
import type { Viewer } from '../auth/viewer.js';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { ConversationRow, Database, MessageRow, OrderRow, UserRow } from './types.js';
import { insertAttachments, type NewAttachment } from './attachments.js';
import { userLoader } from './users.js';
import { isAnyOf } from './any-of.js';

/** A conversation as one viewer sees it: `member` per conversation_has_member(), the people of conversation_members() (migrations/…_chat.sql). */
export interface ConversationAccess {
  conversation: ConversationRow;
  member: boolean;
}

export async function findConversationAccess(db: Db, conversationId: string, userId: string): Promise<ConversationAccess | undefined> {
  const row = await db
    .selectFrom('conversations as c')
    .selectAll('c')
    .select(sql<boolean>`conversation_has_member(c.id, ${userId})`.as('member'))
    .where('c.id', '=', conversationId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { member, ...conversation } = row;
  return { conversation, member };
}

/** The DIRECT conversation of two users, created on first use; the same one whoever asks. */
export async function openDirectConversation(db: Db, userA: string, userB: string): Promise<ConversationRow> {
  // The database orders the pair (its collation, not JavaScript's, is what the check constraint uses).
  // Concurrent first opens race on the unique pair; the loser reads the winner's row.
  await sql`
    insert into conversations (kind, direct_user_low, direct_user_high)
    values ('DIRECT', least(${userA}::text, ${userB}::text), greatest(${userA}::text, ${userB}::text))
    on conflict (direct_user_low, direct_user_high) do nothing
  `.execute(db);
  return db
    .selectFrom('conversations')
    .selectAll()
    .where('direct_user_low', '=', sql<string>`least(${userA}::text, ${userB}::text)`)
    .where('direct_user_high', '=', sql<string>`greatest(${userA}::text, ${userB}::text)`)
    .executeTakeFirstOrThrow();
}

/** The columns of an order that say who takes part in its conversation (see takesPartInOrder in schema/order-access.ts). */
export type OrderPartiesRow = Pick<OrderRow, 'id' | 'customer_id' | 'partner_id'>;

export async function findOrderParties(db: Db, orderId: string): Promise<OrderPartiesRow | undefined> {
  const result = await sql<OrderPartiesRow>`select id::text, customer_id, partner_id from orders where id = ${orderId}`.execute(db);
  return result.rows[0];
}

export async function openOrderConversation(db: Db, orderId: string): Promise<ConversationRow> {
  await sql`
    insert into conversations (kind, order_id) values ('ORDER', ${orderId})
    on conflict (order_id) do nothing
  `.execute(db);
  return db.selectFrom('conversations').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
}

/**
 * Newest first: the conversations the viewer takes part in (ADMIN: all). An
 * order's conversation follows the order's current customer and partner.
 */
export async function listConversations(db: Db, viewer: Viewer, beforeId: string | null, limit: number): Promise<ConversationRow[]> {
  let select = db.selectFrom('conversations as c').selectAll('c');
  if (viewer.role !== 'ADMIN') {
    const visible = sql<string>`(
      select id from conversations where direct_user_low = ${viewer.id}
      union all
      select id from conversations where direct_user_high = ${viewer.id}
      union all
      select c.id from conversations c join orders o on o.id = c.order_id where o.customer_id = ${viewer.id}
      union all
      select c.id from conversations c join orders o on o.id = c.order_id where o.partner_id = ${viewer.partnerId}
    )`;
    select = select.where('c.id', 'in', visible);
  }
  if (beforeId !== null) select = select.where('c.id', '<', beforeId);
  return select.orderBy('c.id', 'desc').limit(limit).execute();
}

/** The users who take part right now, in id order; members never seen as users are left out. */
export async function listParticipants(db: Db, conversationId: string): Promise<UserRow[]> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('id', 'in', sql<string>`(select user_id from conversation_members(${conversationId}) as m (user_id))`)
    .orderBy('id')
    .execute();
}

/** Who takes part right now (conversation_members), users or not. */
export async function listMemberIds(db: Db, conversationId: string): Promise<string[]> {
  const result = await sql<{ userId: string }>`select user_id as "userId" from conversation_members(${conversationId}) as m (user_id)`.execute(db);
  return result.rows.map((row) => row.userId);
}

/** Newest first. */
export async function listMessages(db: Db, conversationId: string, beforeId: string | null, limit: number): Promise<MessageRow[]> {
  let select = db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
  if (beforeId !== null) select = select.where('id', '<', beforeId);
  return select.orderBy('id', 'desc').limit(limit).execute();
}

/** Oldest first: what a resuming subscriber missed. */
export async function listMessagesAfter(db: Db, conversationId: string, afterId: string, limit: number): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
}

export async function findMessage(db: Db, id: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findMessageByClientId(db: Db, senderId: string, clientMessageId: string): Promise<MessageRow | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('sender_id', '=', senderId)
    .where('client_message_id', '=', clientMessageId)
    .executeTakeFirst();
}

export async function lastMessage(db: Db, conversationId: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

export interface NewMessage {
  conversationId: string;
  senderId: string;
  body: string;
  replyToId: string | null;
  clientMessageId: string | null;
  /** Participants to mention (checked by the caller): MENTION notifications instead of MESSAGE ones. */
  mentionUserIds: readonly string[];
  attachments: readonly NewAttachment[];
}

/**
 * Inserts the message and its attachments in one transaction; the triggers
 * emit message.created, advance the sender's read state and notify the
 * others. Answers the message with its sender's row, read by the same
 * statement. Undefined when the sender's clientMessageId was taken meanwhile
 * (a concurrent retry won).
 */
export async function insertMessage(db: Db, message: NewMessage): Promise<MessageWithSender | undefined> {
  const insert = async (trx: Db) => {
    const row = await trx
      .with('m', (q) =>
        q
          .insertInto('messages')
          .values({
            conversation_id: message.conversationId,
            sender_id: message.senderId,
            body: message.body,
            reply_to_id: message.replyToId,
            client_message_id: message.clientMessageId,
            mention_user_ids: [...message.mentionUserIds],
          })
          .onConflict((oc) => oc.columns(['sender_id', 'client_message_id']).doNothing())
          .returningAll(),
      )
      .selectFrom('m')
      .innerJoin('users as u', 'u.id', 'm.sender_id')
      .selectAll('m')
      .select(SENDER_COLUMNS)
      .executeTakeFirst();
    if (!row) return undefined;
    const inserted = splitSender(row);
    await insertAttachments(trx, inserted.message.id, message.attachments);
    return inserted;
  };
  // Without files the insert is one statement: its own transaction, no BEGIN/COMMIT round trips.
  return message.attachments.length === 0 ? insert(db) : db.transaction().execute(insert);
}

/** A message and its sender's row, read in one statement (the sender is what every message's answer shows). */
export interface MessageWithSender {
  message: MessageRow;
  sender: UserRow;
}

/** The sender's columns beside a message's (`u` joined on `sender_id`), split off again by splitSender. */
const SENDER_COLUMNS = [
  'u.role as sender_role',
  'u.display_name as sender_display_name',
  'u.partner_id as sender_partner_id',
  'u.created_at as sender_created_at',
  'u.updated_at as sender_updated_at',
] as const;

/** A message row with SENDER_COLUMNS: every user column but the id (that is `sender_id`), prefixed. */
type WithSenderColumns = MessageRow & { [K in Exclude<keyof UserRow, 'id'> as `sender_${K}`]: UserRow[K] };

function splitSender(row: WithSenderColumns): MessageWithSender {
  const { sender_role, sender_display_name, sender_partner_id, sender_created_at, sender_updated_at, ...message } = row;
  const sender = { id: message.sender_id, role: sender_role, display_name: sender_display_name, partner_id: sender_partner_id, created_at: sender_created_at, updated_at: sender_updated_at };
  return { message, sender };
}

/** Messages from others after the user's last read one. */
export async function countUnreadMessages(db: Db, conversationId: string, userId: string): Promise<number> {
  const row = await db
    .selectFrom('messages as m')
    .select(sql<number>`count(*)::int`.as('unread'))
    .where('m.conversation_id', '=', conversationId)
    .where('m.sender_id', '<>', userId)
    .where(
      'm.id',
      '>',
      sql<string>`coalesce((select last_read_message_id from conversation_participants
                            where conversation_id = ${conversationId} and user_id = ${userId}), 0)`,
    )
    .executeTakeFirstOrThrow();
  return row.unread;
}

/**
 * Moves the user's read mark to `messageId` (never backwards) and marks the
 * MESSAGE notifications of those messages read, so both unread counts agree.
 */
export async function markConversationRead(trx: Transaction<Database>, conversationId: string, userId: string, messageId: string): Promise<void> {
  // The conversation's lock before the row's, as sendMessage takes them (its read-receipt event needs the lock).
  await sql`select lock_conversation_events(${conversationId})`.execute(trx);
  await sql`
    insert into conversation_participants (conversation_id, user_id, last_read_message_id)
    values (${conversationId}, ${userId}, ${messageId})
    on conflict (conversation_id, user_id) do update
      set last_read_message_id = greatest(conversation_participants.last_read_message_id, excluded.last_read_message_id),
          updated_at = now()
      where conversation_participants.last_read_message_id is distinct from
            greatest(conversation_participants.last_read_message_id, excluded.last_read_message_id)
  `.execute(trx);
  await sql`
    update notifications
    set read_at = now()
    where user_id = ${userId}
      and kind in ('MESSAGE', 'MENTION')
      and read_at is null
      and data ->> 'conversationId' = ${conversationId}
      and case when data ->> 'messageId' ~ '^[0-9]{1,18}$' then (data ->> 'messageId')::bigint end <= ${messageId}
  `.execute(trx);
}

/** A participant's read position (read receipt), as the API and the conversation.read event carry it. */
export interface ReadReceiptRow {
  conversationId: string;
  userId: string;
  lastReadMessageId: string;
  readAt: Date | string;
}

/** The read positions of the conversation's members but `exceptUserId`, in user id order; who read nothing is left out. */
export async function listReadReceipts(db: Db, conversationId: string, exceptUserId: string): Promise<ReadReceiptRow[]> {
  const result = await sql<ReadReceiptRow>`
    select p.conversation_id::text as "conversationId", p.user_id as "userId",
           p.last_read_message_id::text as "lastReadMessageId", p.updated_at as "readAt"
    from conversation_participants p
    where p.conversation_id = ${conversationId}
      and p.user_id <> ${exceptUserId}
      and p.last_read_message_id is not null
      and p.user_id in (select user_id from conversation_members(${conversationId}) as m (user_id))
    order by p.user_id
  `.execute(db);
  return result.rows;
}

export interface ChatLoaders {
  /** Messages never change once written, so recent ones are kept. */
  message: BatchLoader<string, MessageRow>;
  /** Users do change (names come from tokens): batched, not kept. */
  user: BatchLoader<string, UserRow>;
  conversation: BatchLoader<string, ConversationRow>;
}

/** The process-wide loaders of one database. */
export const chatLoaders = perDatabase((db): ChatLoaders => {
  const user = userLoader(db);
  return {
    message: createBatchLoader((ids) => messagesWithSenders(db, ids, user), { cacheSize: 1000 }),
    user,
    conversation: createBatchLoader(
      async (ids) => new Map((await db.selectFrom('conversations').selectAll().where(isAnyOf('id', ids, 'bigint')).execute()).map((row) => [row.id, row])),
    ),
  };
});

/**
 * Messages by id, each with its sender's row from the same query, handed to
 * the user loader for this turn: a delivered message's `sender` was a query
 * of its own one turn later, a second round trip for every new message.
 */
async function messagesWithSenders(db: Db, ids: string[], users: BatchLoader<string, UserRow>): Promise<Map<string, MessageRow>> {
  const rows = await db
    .selectFrom('messages as m')
    .innerJoin('users as u', 'u.id', 'm.sender_id')
    .selectAll('m')
    .select(SENDER_COLUMNS)
    .where(isAnyOf('m.id', ids, 'bigint'))
    .execute();
  const messages = new Map<string, MessageRow>();
  for (const row of rows) {
    const { message, sender } = splitSender(row);
    users.prime(sender.id, sender);
    messages.set(message.id, message);
  }
  return messages;
}
