import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FILES_PATH } from '../attachments/signed-url.js';
import type { Logger } from '../observability/log.js';
import type { GraphQLHandler, ServerContext } from './graphql-handler.js';
import { trackInFlight } from './in-flight.js';
import { answerWithYoga } from './yoga-on-node.js';

export interface HttpTransportOptions {
  handler: GraphQLHandler;
  limits: { maxBodyBytes: number; multipartMaxBytes: number };
  /** GET /files/…: a chat attachment, by signed URL. */
  files: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
  /** GET /metrics: the Prometheus text, sampled when asked. */
  metrics: { contentType: string; render(): Promise<string> };
  log: Logger;
}

export interface HttpTransport {
  server: Server;
  /** Resolves when every request in flight has been answered, or after `graceMs`. */
  drained(graceMs: number): Promise<void>;
}

/**
 * The node:http server: `/metrics` and `/files/…` here, everything else (`/graphql`,
 * `/health`, `/ready`, GraphiQL) through Yoga, each request with an
 * `x-request-id` its logs carry.
 */
export function createHttpTransport({ handler, limits, files, metrics, log }: HttpTransportOptions): HttpTransport {
  const inFlight = trackInFlight();
  const server = createServer(async (request, response) => {
    inFlight.track(request, response);
    if (request.url === '/metrics') {
      response.setHeader('content-type', metrics.contentType);
      response.end(await metrics.render());
      return;
    }
    if (request.url?.startsWith(FILES_PATH)) {
      await files(request, response);
      return;
    }
    const requestId = validRequestId(request.headers['x-request-id']) ?? randomUUID();
    response.setHeader('x-request-id', requestId);
    await answerWithYoga<ServerContext>(handler, request, response, { requestId }, limits, log);
  });
  return { server, drained: (graceMs) => inFlight.drained(graceMs) };
}

/** A caller's own request id is kept when it is a plausible id, so logs can be joined across services. */
function validRequestId(value: string | string[] | undefined): string | null {
  return typeof value === 'string' && /^[\w.:-]{1,100}$/.test(value) ? value : null;
}
