import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from './generated/graphql.js';
import { httpData } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server.js';

const openGraphiQL = async (url: string) => (await fetch(url, { headers: { accept: 'text/html' } })).text();
const bearerIn = (page: string) => /Bearer ([\w-]+\.[\w-]+\.[\w-]+)/.exec(page)?.[1] ?? null;

describe('GraphiQL in development, with the development secret', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('embedded', { JWT_SECRET: '' });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('opens on this API’s subscription and the mutation that feeds it, with the development admin’s token in its headers', async () => {
    const page = await openGraphiQL(t.url);
    expect(page).toContain('subscription MyNotifications');
    expect(page).toContain('mutation Broadcast');
    const token = bearerIn(page);
    expect(token).not.toBeNull();
    // The token start-up prints, and one that works.
    expect(token).toBe(await t.server.developmentAdmin!.token());
    const { me } = await httpData(t.url, MeDocument, undefined, token);
    expect(me).toMatchObject({ id: 'dev-admin', role: 'ADMIN' });
  });
});

describe('GraphiQL with a configured JWT_SECRET', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('embedded');
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('shows the example operations and prefills no token', async () => {
    const page = await openGraphiQL(t.url);
    expect(page).toContain('subscription MyNotifications');
    expect(bearerIn(page)).toBeNull();
    expect(t.server.developmentAdmin).toBeNull();
  });
});
