import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import { countedBody, isMultipart } from '../limits/multipart.js';
import type { RequestFacts } from '../basics/server-context.js';
import { readBody, type BodyRead } from '../limits/request-body.js';
import type { Logger } from '../observability/log.js';
import { NodeRequest } from './node-request.js';

/** What this needs of a Yoga instance (`createYoga()` returns one). */
interface NodeAdapter<TServerContext> {
  handleNodeRequestAndResponse(request: IncomingMessage, response: ServerResponse, context: NodeContext<TServerContext>): Response | Promise<Response>;
  handleRequest(request: Request, context: TServerContext): Response | Promise<Response>;
  readonly fetchAPI: { Request: typeof Request; Response: typeof Response };
}

type NodeContext<TServerContext> = TServerContext & { req: IncomingMessage; res: ServerResponse };

/**
 * Answers one node:http request with Yoga, at less CPU per request than
 * `yoga(request, response)` (measured with bench/http.ts):
 *
 * - the body is read here, bounded by `maxBodyBytes` (see request-body.ts),
 *   instead of through Yoga's web-stream limit; a multipart body (uploads)
 *   streams to Yoga's parser instead, counted up to `multipartMaxBytes`
 *   (limits/multipart.ts);
 * - a read body goes to the adapter's `handleRequest` as a NodeRequest
 *   (node-request.ts) instead of through the adapter's own conversion of the
 *   node request, with no server context; a streamed one through
 *   `handleNodeRequestAndResponse`, with one server context object (its
 *   request listener merges two property by property on every request);
 * - the Response is written with the adapter's own `sendNodeResponse`.
 *
 * The request still goes through every Yoga plugin as before.
 */
export async function answerWithYoga<TServerContext extends RequestFacts>(
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
  context.bodyTooLarge = body.kind === 'too-large';
  let answer: Response;
  try {
    if (body.kind === 'streamed') {
      // The adapter takes a `body` on the request as the request's stream instead of reading the request.
      Object.assign(request, { body: body.stream });
      answer = await yoga.handleNodeRequestAndResponse(request, response, { req: request, res: response, ...context });
    } else {
      // No server context: the context travels with the request (basics/server-context.ts says why).
      const fetchRequest = new NodeRequest(request, response, body.kind === 'read' ? body.bytes : null, yoga.fetchAPI, context);
      // Yoga reads of a Request only what NodeRequest has (the class says why it is not the fetch API's own).
      answer = await yoga.handleRequest(fetchRequest as unknown as Request, NO_SERVER_CONTEXT as TServerContext);
    }
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

/** Given none, the adapter makes a plain one (with its waitUntil); its type insists on one. */
const NO_SERVER_CONTEXT: unknown = undefined;

/** A multipart body over its limit by Content-Length is refused unread; else it streams, counted. */
function streamedBody(request: IncomingMessage, limit: number): BodyRead | { kind: 'streamed'; stream: NodeJS.ReadableStream } {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return { kind: 'too-large' };
  return { kind: 'streamed', stream: countedBody(request, limit) };
}
