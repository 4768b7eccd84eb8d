import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `GET /files/<id>?expires=<unix s>&signature=<HMAC>` URLs: whoever holds one
 * may fetch that attachment until it expires; nothing else opens a file. The
 * signature covers the id and the expiry, so neither can be changed.
 */
export interface FileUrlSigner {
  /** A URL for attachment `id`, valid for the configured time from now. */
  sign(id: string, origin: string | null): string;
  /** The attachment id a path + query opens now, or null (tampered, expired, malformed). */
  verify(pathAndQuery: string): string | null;
}

export const FILES_PATH = '/files/';
const ID = /^[1-9][0-9]{0,18}$/;
const EXPIRES = /^[0-9]{1,12}$/;

export function fileUrlSigner(secret: string, ttlS: number, now: () => number = Date.now): FileUrlSigner {
  const mac = (id: string, expires: string) => createHmac('sha256', secret).update(`${id}.${expires}`).digest();
  return {
    sign(id, origin) {
      const expires = String(Math.floor(now() / 1000) + ttlS);
      const signature = mac(id, expires).toString('base64url');
      return `${origin ?? ''}${FILES_PATH}${id}?expires=${expires}&signature=${signature}`;
    },
    verify(pathAndQuery) {
      const url = new URL(pathAndQuery, 'http://files.invalid');
      const id = url.pathname.slice(FILES_PATH.length);
      const expires = url.searchParams.get('expires') ?? '';
      const signature = Buffer.from(url.searchParams.get('signature') ?? '', 'base64url');
      if (!url.pathname.startsWith(FILES_PATH) || !ID.test(id) || !EXPIRES.test(expires)) return null;
      const expected = mac(id, expires);
      // Constant time: the comparison must not tell a forger how much of a guess was right.
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null;
      if (Number(expires) * 1000 <= now()) return null;
      return id;
    },
  };
}
