import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration from the environment', () => {
  it('defaults to the embedded backend with a development secret', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', databaseUrl: null, redisUrl: null, dataDir: './.data', graphiql: true });
    expect(config.jwt).toMatchObject({ kind: 'secret', development: true });
    expect(config.wsPingIntervalMs).toBe(30_000);
    expect(loadConfig({ WS_PING_INTERVAL_MS: '300' }).wsPingIntervalMs).toBe(300);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['NODE_ENV', 'staging'],
    ['GRAPHIQL', 'maybe'],
    ['RELAY_POLL_MS', '0'],
    ['WS_PING_INTERVAL_MS', '50'],
    ['WS_PING_INTERVAL_MS', '3600000'],
  ])('stops on a wrong %s (%s) with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('refuses to start in production without a key, and turns GraphiQL off there', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });
    expect(config.graphiql).toBe(false);
    expect(config.jwt).toMatchObject({ kind: 'secret', development: false });
  });

  it('accepts a PEM public key and rejects something else', () => {
    expect(() => loadConfig({ JWT_PUBLIC_KEY: 'not a key' })).toThrow(/JWT_PUBLIC_KEY/);
    const pem = '-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----';
    expect(loadConfig({ JWT_PUBLIC_KEY: pem }).jwt).toMatchObject({ kind: 'publicKey' });
  });
});
