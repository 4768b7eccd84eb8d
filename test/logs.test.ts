import { Writable } from 'node:stream';
import { print } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createServer, type RealtimeServer } from '../src/server.js';
import { SendNotificationDocument } from './generated/graphql.js';
import { wsConnect } from './support/clients.js';
import { eventually } from './support/deferred.js';
import { backendEnv, token } from './support/server.js';
import { person } from './support/world.js';

describe('structured logs', () => {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  let server: RealtimeServer;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const backend = await backendEnv('embedded');
    cleanup = backend.cleanup;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw += chunk.toString();
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    server = await createServer(loadConfig({ ...backend.env, LOG_LEVEL: 'info' }), pino({ level: 'info' }, sink));
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('writes one JSON line per connection open and close, per failed mutation and per relay leadership change, without tokens or bodies', async () => {
    const userToken = (await person(server, 'logged-user', 'customer')).token;
    const adminToken = await token({ sub: 'logged-admin', role: 'admin' });
    const socket = wsConnect(server.url, { authorization: `Bearer ${userToken}` });
    await socket.connected;
    await socket.dispose();
    await eventually(() => lines.find((line) => line['msg'] === 'connection closed'), 'the close line');
    const opened = lines.find((line) => line['msg'] === 'connection opened')!;
    const closed = lines.find((line) => line['msg'] === 'connection closed')!;
    expect(opened).toMatchObject({ userId: 'logged-user', transport: 'ws' });
    expect(closed).toMatchObject({ userId: 'logged-user', connectionId: opened['connectionId'], code: 1000 });
    expect(typeof closed['durationMs']).toBe('number');

    const secret = 'do-not-log-this-body';
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, 'x-request-id': 'req-42' },
      body: JSON.stringify({ query: print(SendNotificationDocument), variables: { input: { title: 'x'.repeat(500), body: secret } } }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    const failed = await eventually(() => lines.find((line) => line['msg'] === 'mutation failed'), 'the mutation error line');
    expect(failed).toMatchObject({ requestId: 'req-42', userId: 'logged-admin', fields: ['sendNotification'], codes: ['BAD_USER_INPUT'] });

    expect(lines.some((line) => line['msg'] === 'relay is the leader')).toBe(true);
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(userToken);
    expect(raw).not.toContain(adminToken);
  });
});
