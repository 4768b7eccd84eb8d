import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { createFetch } from '@whatwg-node/fetch';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { AttachmentConfig } from '../config.js';
import { badInput } from '../errors.js';

/**
 * Multipart requests (GraphQL multipart request spec: chat attachments) are
 * the one kind of request whose body is not read into memory before Yoga
 * sees it (request-body.ts): Yoga's parser (busboy) streams it, with limits
 * that stop a file past ATTACHMENT_MAX_BYTES, or one file too many, as the
 * bytes arrive, and the whole body is counted on its way in.
 */
export function isMultipart(request: IncomingMessage): boolean {
  return request.method === 'POST' && isMultipartType(request.headers['content-type']);
}

/** A Content-Type of the GraphQL multipart request spec. */
export function isMultipartType(contentType: string | null | undefined): boolean {
  return /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '');
}

/** A multipart body may be as large as its files allow, plus MAX_BODY_BYTES for the operations and the map. */
export function multipartBodyLimit(attachments: AttachmentConfig, maxBodyBytes: number): number {
  return attachments.perMessage * attachments.maxBytes + maxBodyBytes;
}

const TOO_LARGE = 'multipart body too large';

/** The request's bytes, passed through while they stay under `limit`; past it the stream fails (and the parser with it). */
export function countedBody(request: IncomingMessage, limit: number): Transform {
  let length = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      length += chunk.length;
      if (length > limit) done(new Error(TOO_LARGE));
      else done(null, chunk);
    },
  });
  request.on('error', (error) => counted.destroy(error));
  return request.pipe(counted);
}

/** Yoga's fetch API with busboy's limits for multipart bodies (the way Yoga's docs configure upload limits). */
export function fetchApiWithUploadLimits(attachments: AttachmentConfig, maxBodyBytes: number) {
  return createFetch({
    formDataLimits: {
      fileSize: attachments.maxBytes,
      files: attachments.perMessage,
      // `operations` and `map` are fields: each at most MAX_BODY_BYTES.
      fieldSize: maxBodyBytes,
      fields: 16,
    },
  });
}

/**
 * What the multipart parser's limits mean for the client: a file too large
 * or too many files is BAD_USER_INPUT naming `input.attachments` (nothing ran,
 * so nothing was stored); a body past its limit is a 413 like any other.
 */
export function useUploadLimits(attachments: AttachmentConfig): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser || !isMultipartType(request.headers.get('content-type'))) return;
      setRequestParser(async (parsed) => {
        try {
          return await requestParser(parsed);
        } catch (error) {
          throw refusal(error, attachments) ?? error;
        }
      });
    },
  };
}

function refusal(error: unknown, attachments: AttachmentConfig) {
  const message = error instanceof Error ? error.message : '';
  if (message.includes('File size limit exceeded')) return badInput('input.attachments', `a file is larger than ${attachments.maxBytes} bytes`);
  if (message.includes('Files limit exceeded')) return badInput('input.attachments', `at most ${attachments.perMessage} files per message`);
  if (message.includes(TOO_LARGE)) {
    return createGraphQLError('Request body too large', { extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' } });
  }
  return null;
}
