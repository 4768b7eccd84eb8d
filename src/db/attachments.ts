import { sql } from 'kysely';
import { createBatchLoader, perDatabase, type BatchLoader } from './batch.js';
import type { Db } from './client.js';
import type { AttachmentRow } from './types.js';
import { isAnyOf } from './any-of.js';

/** What sendMessage stores with a message, in its transaction. */
export interface NewAttachment {
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

export async function insertAttachments(db: Db, messageId: string, attachments: readonly NewAttachment[]): Promise<void> {
  if (attachments.length === 0) return;
  await db
    .insertInto('message_attachments')
    .values(
      attachments.map((attachment, position) => ({
        message_id: messageId,
        position,
        file_name: attachment.fileName,
        content_type: attachment.contentType,
        size_bytes: attachment.bytes.length,
        bytes: attachment.bytes,
      })),
    )
    .execute();
}

/** The stored file GET /files/… serves. */
export interface StoredFile {
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

export async function findFile(db: Db, attachmentId: string): Promise<StoredFile | undefined> {
  const result = await sql<StoredFile>`
    select file_name as "fileName", content_type as "contentType", bytes
    from message_attachments
    where id = ${attachmentId}
  `.execute(db);
  return result.rows[0];
}

const ATTACHMENT_COLUMNS = ['id', 'message_id', 'position', 'file_name', 'content_type', 'size_bytes', 'created_at'] as const;

/** Attachments of messages, batched per tick: a page of messages reads them in one statement. Never the bytes. */
export const attachmentLoaders = perDatabase(
  (db): { byMessage: BatchLoader<string, AttachmentRow[]> } => ({
    byMessage: createBatchLoader(async (messageIds) => {
      const rows = await db
        .selectFrom('message_attachments')
        .select(ATTACHMENT_COLUMNS)
        .where(isAnyOf('message_id', messageIds, 'bigint'))
        .orderBy('message_id')
        .orderBy('position')
        .execute();
      const byMessage = new Map<string, AttachmentRow[]>(messageIds.map((id) => [id, []]));
      for (const row of rows) byMessage.get(row.message_id)?.push(row);
      return byMessage;
      // Attachments never change once their message is written.
    }, { cacheSize: 1000 }),
  }),
);
