import { fileTypeFromBuffer } from 'file-type';

/** What attachments may be (contract part "chat"); anything else is refused. */
const ACCEPTED_BINARY = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']);
export const PLAIN_TEXT = 'text/plain; charset=utf-8';

/**
 * The type of a file from its bytes, never from what the client claimed:
 * one of the accepted types, or null. Text has no signature for file-type
 * to find, so it is text when it decodes as UTF-8 and holds no NUL or other
 * control characters but tab, line feed, carriage return and form feed.
 */
export async function detectContentType(bytes: Uint8Array): Promise<string | null> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected) return ACCEPTED_BINARY.has(detected.mime) ? detected.mime : null;
  return isPlainText(bytes) ? PLAIN_TEXT : null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainText(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return false;
  }
  return !/[\u0000-\u0008\u000B\u000E-\u001F\u007F]/.test(text);
}

/** Shown in the page rather than downloaded: images only (a PDF or text opens as a download). */
export function isInlineType(contentType: string): boolean {
  return contentType.startsWith('image/');
}
