/**
 * POSTs an operation asking for an SSE answer (Yoga's distinct connections
 * mode), for tests that read the stream's bytes themselves: comments, events,
 * a refusal.
 */
export function postSse(url: string, jwt: string | null, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}
