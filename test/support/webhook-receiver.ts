import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deferred, type Deferred } from './deferred.js';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: {
    id: string;
    userId: string;
    kind: string;
    priority: string;
    title: string;
    body: string;
    data: unknown;
    createdAt: string;
  };
  receivedAt: number;
  /** The status this receiver answered. */
  status: number;
}

/** What to answer one request: a status, a status after a pause, or 'hang' to never answer (a timeout for the sender). */
export type Answer = number | { status: number; afterMs: number } | 'hang';

/** A real HTTP endpoint that records every POST; tests decide each answer. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answers by the request's Idempotency-Key and its attempt number there (1-based); default 200. */
  answer: (id: string, attempt: number) => Answer;
  /** Resolves when a request for `id` with this attempt number arrived. */
  arrival(id: string, attempt?: number): Promise<ReceivedWebhook>;
  forId(id: string): ReceivedWebhook[];
  close(): Promise<void>;
}

export function verifySignature(secret: string, rawBody: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const actual = Buffer.from(header ?? '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiting = new Map<string, Deferred<ReceivedWebhook>>();
  const hanging = new Set<() => void>();
  const waiter = (key: string) => {
    let found = waiting.get(key);
    if (!found) waiting.set(key, (found = deferred<ReceivedWebhook>()));
    return found;
  };
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => 200,
    arrival: (id, attempt = 1) => waiter(`${id}#${attempt}`).promise,
    forId: (id) => received.filter((request) => request.body.id === id),
    async close() {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(rawBody) as ReceivedWebhook['body'];
      const attempt = received.filter((earlier) => earlier.body.id === body.id).length + 1;
      const answer = receiver.answer(body.id, attempt);
      const status = answer === 'hang' ? 0 : typeof answer === 'number' ? answer : answer.status;
      const record: ReceivedWebhook = { headers: request.headers, rawBody, body, receivedAt: Date.now(), status };
      received.push(record);
      waiter(`${body.id}#${attempt}`).resolve(record);
      if (answer === 'hang') {
        const release = () => response.destroy();
        hanging.add(release);
        response.on('close', () => hanging.delete(release));
        return;
      }
      const reply = () => response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
      if (typeof answer === 'number') reply();
      else setTimeout(reply, answer.afterMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/offline`;
  return receiver;
}
