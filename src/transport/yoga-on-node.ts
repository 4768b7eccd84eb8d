import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import { countedBody, isMultipart } from '../limits/multipart.js';
import { readBody, type BodyLimitContext, type BodyRead } from '../limits/request-body.js';
import type { Logger } from '../observability/log.js';

/** What this needs of a Yoga instance (`createYoga()` returns one). */
interface NodeAdapter<TServerContext> {
  handleNodeRequestAndResponse(request: IncomingMessage, response: ServerResponse, context: TServerContext & { req: IncomingMessage; res: ServerResponse }): Response | Promise<Response>;
  readonly fetchAPI: { Response: typeof Response };
}

/**
 * Answers one node:http request with Yoga, at less CPU per request than
 * `yoga(request, response)` (measured with bench/http.ts):
 *
 * - the body is read here, bounded by `maxBodyBytes` (see request-body.ts),
 *   instead of through Yoga's web-stream limit; a multipart body (uploads)
 *   streams to Yoga's parser instead, counted up to `multipartMaxBytes`
 *   (limits/multipart.ts);
 * - the adapter's `handleNodeRequestAndResponse` gets one server context
 *   object, where its request listener merges two property by property
 *   (`completeAssign`) on every request, and the Response is written with
 *   the adapter's own `sendNodeResponse`.
 *
 * The request still goes through every Yoga plugin as before.
 */
export async function answerWithYoga<TServerContext extends BodyLimitContext>(
  yoga: NodeAdapter<TServerContext>,
  request: IncomingMessage,
  response: ServerResponse,
  context: TServerContext,
  limits: { maxBodyBytes: number; multipartMaxBytes: number },
  log: Logger,
): Promise<void> {
  const body = isMultipart(request) ? streamedBody(request, limits.multipartMaxBytes) : await readBody(request, limits.maxBodyBytes);
  // The client left before sending its whole body: nobody is left to answer.
  if (body.kind === 'aborted') return;
  // The adapter takes a `body` on the request as the request's bytes (or stream) instead of reading the request.
  if (body.kind === 'read') Object.assign(request, { body: body.bytes });
  if (body.kind === 'streamed') Object.assign(request, { body: body.stream });
  context.bodyTooLarge = body.kind === 'too-large';
  let answer: Response;
  try {
    answer = await yoga.handleNodeRequestAndResponse(request, response, { req: request, res: response, ...context });
  } catch (error) {
    // Yoga answers its own errors; this is a failure of the adapter itself. No stack for the client.
    log.error({ err: error }, 'internal error');
    answer = new yoga.fetchAPI.Response(null, { status: 500 });
  }
  // Answered before the whole body arrived (a refused upload): close rather than read the rest to reuse the connection.
  if (!request.complete && !response.headersSent) response.setHeader('connection', 'close');
  try {
    await sendNodeResponse(answer, response, request, true);
  } catch (error) {
    log.error({ err: error }, 'sending a response failed');
  }
}

/** A multipart body over its limit by Content-Length is refused unread; else it streams, counted. */
function streamedBody(request: IncomingMessage, limit: number): BodyRead | { kind: 'streamed'; stream: NodeJS.ReadableStream } {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return { kind: 'too-large' };
  return { kind: 'streamed', stream: countedBody(request, limit) };
}
