import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Counts HTTP requests still being answered, leaving out event streams (SSE),
 * so a stopping server can let mutations finish without waiting on streams
 * that never end by themselves.
 */
export function trackInFlight() {
  let count = 0;
  let onIdle: (() => void) | null = null;
  return {
    track(request: IncomingMessage, response: ServerResponse): void {
      if (request.headers.accept?.includes('text/event-stream')) return;
      count += 1;
      response.once('close', () => {
        count -= 1;
        if (count === 0) onIdle?.();
      });
    },
    /** Resolves when no request is in flight, or after `ms`. */
    async drained(ms: number): Promise<void> {
      if (count === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (onIdle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
      ]);
      clearTimeout(timer);
      onIdle = null;
    },
  };
}
