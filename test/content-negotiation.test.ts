import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

// Which response format an Accept header gets (Yoga's result processors; their Accept parsing is
// remembered per header value since patches/graphql-yoga+5.24.1.patch). Each header is sent three
// times: the first answer is worked out, the others come from what was remembered.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('embedded');
});
afterAll(() => t.stop());

async function answer(accept: string | null): Promise<{ status: number; type: string | null; acceptable: string | null; body: string }> {
  const response = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(accept === null ? {} : { accept }) },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  return { status: response.status, type: response.headers.get('content-type'), acceptable: response.headers.get('accept'), body: await response.text() };
}

const DATA = '{"data":{"__typename":"Query"}}';

describe('content negotiation over HTTP', () => {
  it.each([
    ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
    ['application/json', 'application/json; charset=utf-8'],
    ['application/graphql-response+json, application/json', 'application/graphql-response+json; charset=utf-8'],
    ['application/json, application/graphql-response+json', 'application/json; charset=utf-8'],
    ['Application/JSON ; charset=UTF-8', 'application/json; charset=utf-8'],
    ['application/*', 'application/json; charset=utf-8'],
    ['*/*', 'application/json; charset=utf-8'],
    ['text/html;q=0.9, application/json;charset=latin1, application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
  ])('Accept: %s answers %s', async (accept, type) => {
    for (let i = 0; i < 3; i++) {
      const got = await answer(accept);
      expect(got).toMatchObject({ status: 200, type });
      expect(got.body).toBe(DATA);
    }
  });

  it('answers without an Accept header as for */*', async () => {
    expect(await answer(null)).toMatchObject({ status: 200, type: 'application/json; charset=utf-8', body: DATA });
  });

  it.each(['text/html', 'image/*, text/plain'])('answers Accept: %s with 406 and what it could send', async (accept) => {
    for (let i = 0; i < 3; i++) {
      const got = await answer(accept);
      expect(got.status).toBe(406);
      expect(got.acceptable).toContain('application/graphql-response+json');
      expect(got.acceptable).toContain('application/json');
    }
  });

  it('answers 406 when every type asks for a charset other than UTF-8', async () => {
    for (let i = 0; i < 3; i++) expect((await answer('application/json;charset=latin1, text/event-stream;charset=ascii')).status).toBe(406);
  });

  it('answers Accept: text/event-stream with server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await response.text()).toContain(DATA);
    controller.abort();
  });
});
