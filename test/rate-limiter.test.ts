import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimiter, type RateLimiter } from '../src/limits/rate-limiter.js';
import { TEST_REDIS_URL } from './support/server.js';

const limit = { name: 'test', limit: 3, windowMs: 300 };

describe('rate limiter', () => {
  const limiters: RateLimiter[] = [];
  const limiter = (redisUrl: string | null, prefix = `rl${randomBytes(4).toString('hex')}:`) => {
    const created = createRateLimiter({ redisUrl, prefix });
    limiters.push(created);
    return created;
  };

  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((each) => each.close()));
  });

  for (const [name, redisUrl] of [
    ['in-process', null],
    ['Redis', TEST_REDIS_URL],
  ] as const) {
    it(`${name}: allows the limit per window and per subject, then says how long to wait`, async () => {
      const subject = limiter(redisUrl);
      expect([await subject.hit(limit, 'u1'), await subject.hit(limit, 'u1'), await subject.hit(limit, 'u1')]).toEqual([null, null, null]);
      const waitMs = await subject.hit(limit, 'u1');
      expect(waitMs).toBeGreaterThan(0);
      expect(waitMs).toBeLessThanOrEqual(limit.windowMs);
      // Refused hits are not counted, and another subject has its own window.
      expect(await subject.hit(limit, 'u2')).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, waitMs! + 20));
      expect(await subject.hit(limit, 'u1')).toBeNull();
    });
  }

  it('Redis: processes with the same prefix share one window', async () => {
    const prefix = `rl${randomBytes(4).toString('hex')}:`;
    const one = limiter(TEST_REDIS_URL, prefix);
    const two = limiter(TEST_REDIS_URL, prefix);
    expect(await one.hit(limit, 'u')).toBeNull();
    expect(await two.hit(limit, 'u')).toBeNull();
    expect(await one.hit(limit, 'u')).toBeNull();
    expect(await two.hit(limit, 'u')).toBeGreaterThan(0);
  });

  it('keeps limiting in-process while Redis cannot be reached, so mutations keep working', async () => {
    const unreachable = limiter('redis://127.0.0.1:1');
    const started = Date.now();
    expect(await unreachable.hit(limit, 'u')).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await unreachable.hit(limit, 'u')).toBeNull();
    expect(await unreachable.hit(limit, 'u')).toBeNull();
    expect(await unreachable.hit(limit, 'u')).toBeGreaterThan(0);
  });
});
