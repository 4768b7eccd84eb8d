import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInlineType } from '../attachments/file-types.js';
import type { FileUrlSigner } from '../attachments/signed-url.js';
import type { Db } from '../db/client.js';
import { findFile } from '../db/attachments.js';
import type { Logger } from '../observability/log.js';

/**
 * GET /files/<id>?expires=…&signature=…: the bytes of one attachment, to
 * whoever holds a URL that a reader of its message was given. Anything else
 * (another method, a tampered or expired URL, a file that is gone) is the
 * same bare 404, so a URL reveals nothing about what exists.
 */
export function fileServer(signer: FileUrlSigner | null, db: Db, log: Logger) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const id = (request.method === 'GET' || request.method === 'HEAD') && signer ? signer.verify(request.url ?? '') : null;
    const file = id === null ? undefined : await findFile(db, id).catch((error: unknown) => {
      log.error({ err: error }, 'reading an attachment failed');
      return undefined;
    });
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end('Not found');
      return;
    }
    response.writeHead(200, {
      'content-type': file.contentType,
      'content-length': String(file.bytes.length),
      'x-content-type-options': 'nosniff',
      'content-disposition': contentDisposition(isInlineType(file.contentType) ? 'inline' : 'attachment', file.fileName),
      // The URL is a credential of one reader: no shared cache may keep the bytes.
      'cache-control': 'private, max-age=600',
      // A file opened directly runs nothing: an SVG or HTML could not script the API's origin even if one got in.
      'content-security-policy': "default-src 'none'; sandbox",
    });
    response.end(request.method === 'HEAD' ? undefined : file.bytes);
  };
}

/** RFC 6266: an ASCII fallback name and the exact UTF-8 name. */
function contentDisposition(kind: 'inline' | 'attachment', fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7E]|["\\]/g, '_');
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
