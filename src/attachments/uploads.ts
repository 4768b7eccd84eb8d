import type { AttachmentConfig } from '../config.js';
import { badInput } from '../errors.js';
import { detectContentType } from './file-types.js';

/** A file of a GraphQL multipart request, as Yoga hands it to a resolver (a fetch API File). */
export interface Upload {
  readonly name: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export function isUpload(value: unknown): value is Upload {
  const candidate = value as Partial<Upload> | null;
  return typeof candidate?.name === 'string' && typeof candidate.size === 'number' && typeof candidate.arrayBuffer === 'function';
}

/** An attachment checked and ready to store with its message. */
export interface CheckedAttachment {
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

const FIELD = 'input.attachments';
const FILE_NAME_MAX = 255;

/**
 * The files of one sendMessage, checked as the contract says: how many, how
 * large (the request parser already stopped any file past the limit while it
 * streamed in; this is the same rule for the rest), and of which type, from
 * the bytes. The first bad file refuses them all.
 */
export async function checkUploads(uploads: readonly Upload[], config: AttachmentConfig): Promise<CheckedAttachment[]> {
  if (uploads.length === 0) return [];
  if (config.urlSecret === null) throw badInput(FIELD, 'attachments are off on this server (no ATTACHMENT_URL_SECRET)');
  if (uploads.length > config.perMessage) throw badInput(FIELD, `at most ${config.perMessage} files per message`);
  const checked: CheckedAttachment[] = [];
  for (const [index, upload] of uploads.entries()) {
    if (upload.size > config.maxBytes) throw badInput(FIELD, `file ${index + 1} is larger than ${config.maxBytes} bytes`);
    const bytes = Buffer.from(await upload.arrayBuffer());
    const contentType = await detectContentType(bytes);
    if (contentType === null) throw badInput(FIELD, `file ${index + 1} is not a PNG, JPEG, GIF, WebP, PDF or UTF-8 text file`);
    checked.push({ fileName: baseName(upload.name), contentType, bytes });
  }
  return checked;
}

/** The client's name without any folder (either slash), trimmed to what a header and a column hold. */
export function baseName(name: string): string {
  const base = name.split(/[/\\]/).pop()!.replace(/[\u0000-\u001F\u007F]/g, '').trim();
  return Array.from(base || 'file').slice(0, FILE_NAME_MAX).join('');
}
