import type { IncomingMessage } from 'node:http';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { requestFacts, type RequestFacts } from '../basics/server-context.js';
import { isMultipartType } from './multipart.js';

/** What reading a request's body gave. */
export type BodyRead =
  /** GET or HEAD: the adapter ignores their bodies. */
  | { kind: 'none' }
  | { kind: 'read'; bytes: Buffer }
  /** Past the limit (by Content-Length, or counted while reading): the rest stays unread. */
  | { kind: 'too-large' }
  /** The client went away before the body ended: nobody is left to answer. */
  | { kind: 'aborted' };

/**
 * Reads a request body into memory, at most `limit` bytes, before Yoga sees
 * the request.
 *
 * Yoga enforces `maxRequestBodySize` by piping every body through a web
 * TransformStream (a stream pipeline, an AbortController and a DOMException
 * per request): more than half of a bare Yoga's CPU per request, measured
 * (bench/http.ts). A body read here is handed to the adapter as bytes (it
 * takes `request.body` as is), and an over-limit one is refused with Yoga's
 * own answer by useRequestBodyLimit below, so the limit holds as before,
 * with or without a Content-Length.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<BodyRead> {
  if (request.method === 'GET' || request.method === 'HEAD') return Promise.resolve({ kind: 'none' });
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (read: BodyRead) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('close', onClose);
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        request.pause();
        done({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done({ kind: 'read', bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length) });
    const onClose = () => done({ kind: 'aborted' });
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('close', onClose);
    // A reset connection emits 'error' before 'close'; without a listener it would be thrown.
    request.on('error', () => {});
  });
}

/** Only a single non-negative integer is a valid Content-Length (Yoga's own rule). */
const CONTENT_LENGTH = /^\d+$/;

/**
 * Yoga's answers for a body past MAX_BODY_BYTES, or a multipart one past its
 * own limit (limits/multipart.ts), (413) and an invalid Content-Length
 * (400), at the point where Yoga's own check runs (after every other
 * plugin's request parsing): so it must come after the other
 * plugins with an onRequestParse hook (CSRF).
 */
export function useRequestBodyLimit(maxBodyBytes: number, multipartMaxBytes: number): Plugin<Record<string, unknown>, RequestFacts> {
  return {
    onRequestParse({ request, requestParser, serverContext }) {
      const limit = isMultipartType(request.headers.get('content-type')) ? multipartMaxBytes : maxBodyBytes;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!CONTENT_LENGTH.test(declared)) {
          throw createGraphQLError('Content-Length header is invalid.', { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });
        }
        if (Number(declared) > limit) throw bodyTooLarge();
      }
      // Yoga counted a body only when a parser would read it (an unsupported media type is a 415 instead).
      if (requestFacts(request, serverContext).bodyTooLarge && requestParser) throw bodyTooLarge();
    },
  };
}

function bodyTooLarge() {
  return createGraphQLError('Request body too large', { extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' } });
}
