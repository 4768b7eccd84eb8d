import { createHmac } from 'node:crypto';
import type { ClaimedDelivery } from '../db/webhook.js';

/** What the webhook receives: the contract's JSON body, ids as strings. */
export interface WebhookPayload {
  id: string;
  userId: string;
  kind: string;
  priority: string;
  title: string;
  body: string;
  data: unknown;
  createdAt: string;
}

export function payloadOf(delivery: ClaimedDelivery): WebhookPayload {
  return {
    id: delivery.notificationId,
    userId: delivery.userId,
    kind: delivery.kind,
    priority: delivery.priority,
    title: delivery.title,
    body: delivery.body,
    data: delivery.data ?? null,
    createdAt: delivery.createdAt.toISOString(),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`: the receiver recomputes it over the bytes it got. */
export function signature(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export type PostOutcome = { ok: true } | { ok: false; error: string };

/** One attempt: 2xx within the timeout is success; anything else is a failure to retry. */
export async function postPayload(url: string, secret: string, payload: WebhookPayload, timeoutMs: number): Promise<PostOutcome> {
  const rawBody = JSON.stringify(payload);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': payload.id,
        'x-signature': signature(secret, rawBody),
      },
      body: rawBody,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    // The answer's body is not needed; dropping it frees the connection.
    await response.body?.cancel().catch(() => {});
    return response.status >= 200 && response.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : String((error as Error)?.message ?? error);
    return { ok: false, error: reason };
  }
}
