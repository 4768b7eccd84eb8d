import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from './generated/graphql.js';
import { errorCode, httpRequest, wsConnect } from './support/clients.js';
import { startTestServer, token, type TestServer } from './support/server.js';

type Algorithm = 'RS256' | 'ES256';

describe.each<Algorithm>(['RS256', 'ES256'])('tokens signed with %s and verified by a PEM public key', (alg) => {
  let t: TestServer;
  let privateKey: CryptoKey;

  function sign(claims: Record<string, unknown>, options: { alg?: string; issuer?: string; audience?: string } = {}) {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? alg })
      .setSubject(String(claims['sub'] ?? 'someone'))
      .setExpirationTime('10m');
    if (options.issuer) jwt = jwt.setIssuer(options.issuer);
    if (options.audience) jwt = jwt.setAudience(options.audience);
    return jwt.sign(privateKey);
  }

  beforeAll(async () => {
    const pair = await generateKeyPair(alg, { extractable: true });
    privateKey = pair.privateKey as CryptoKey;
    t = await startTestServer('embedded', {
      JWT_SECRET: '',
      JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey),
      JWT_ISSUER: 'https://id.example',
      JWT_AUDIENCE: 'marketplace',
    });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('accepts a token with the configured issuer and audience, over HTTP and graphql-ws', async () => {
    const jwt = await sign({ sub: 'pk-user', role: 'customer', name: 'Key User' }, { issuer: 'https://id.example', audience: 'marketplace' });
    const result = await httpRequest(t.url, MeDocument, {}, jwt);
    expect(result.data?.me).toMatchObject({ id: 'pk-user', displayName: 'Key User', role: 'CUSTOMER' });
    const socket = wsConnect(t.url, { authorization: `Bearer ${jwt}` });
    await socket.connected;
    await socket.dispose();
  });

  it('refuses a wrong issuer or audience, an HS256 token, and alg none', async () => {
    const wrongIssuer = await sign({ sub: 'x', role: 'customer' }, { issuer: 'https://evil.example', audience: 'marketplace' });
    const wrongAudience = await sign({ sub: 'x', role: 'customer' }, { issuer: 'https://id.example', audience: 'other' });
    const hs256 = await token({ sub: 'x', role: 'admin' });
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', role: 'admin', iss: 'https://id.example', aud: 'marketplace', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    for (const jwt of [wrongIssuer, wrongAudience, hs256, `${header}.${payload}.`]) {
      expect(errorCode(await httpRequest(t.url, MeDocument, {}, jwt))).toBe('UNAUTHENTICATED');
      expect((await wsConnect(t.url, { authorization: `Bearer ${jwt}` }).closed).code).toBe(4403);
    }
  });

  it('refuses claims the contract does not allow', async () => {
    const options = { issuer: 'https://id.example', audience: 'marketplace' };
    const cases = [
      await sign({ sub: 'x', role: 'superuser' }, options),
      await sign({ sub: 'x', role: 'partner' }, options),
      await sign({ sub: 'x' }, options),
    ];
    for (const jwt of cases) expect(errorCode(await httpRequest(t.url, MeDocument, {}, jwt))).toBe('UNAUTHENTICATED');
  });
});
