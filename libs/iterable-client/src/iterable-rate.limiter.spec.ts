import { Redis } from 'ioredis';

import { apiKeyFingerprint, IterableRateLimiter, LimiterWaitTimeoutError } from './iterable-rate.limiter';
import { IterableClient } from './iterable.client';
import type { LimiterLease } from './iterable.types';
import type { RunningFakeIterable } from './testing/fake-iterable.harness';
import { startFakeIterable, testApiKey } from './testing/fake-iterable.harness';
import { deleteKeysUnder, keysUnder, TEST_REDIS_URL, uniquePrefix } from './testing/redis.harness';

const settle = async (promise: Promise<unknown>, ms: number): Promise<boolean> => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return done;
};

describe('IterableRateLimiter (Redis)', () => {
  let redis: Redis;
  let prefix: string;
  const limiters: IterableRateLimiter[] = [];
  const limiter = (options: Partial<ConstructorParameters<typeof IterableRateLimiter>[0]> = {}) => {
    const created = new IterableRateLimiter({ redis, keyPrefix: prefix, requestsPerSecond: 100, maxConcurrent: 10, ...options });
    limiters.push(created);
    return created;
  };

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  beforeEach(() => {
    prefix = uniquePrefix('limiter');
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await deleteKeysUnder(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('fingerprints keys with a stable hash that does not contain the key', () => {
    const key = testApiKey('fp');
    expect(apiKeyFingerprint(key)).toBe(apiKeyFingerprint(key));
    expect(apiKeyFingerprint(key)).toMatch(/^[0-9a-f]{32}$/);
    expect(apiKeyFingerprint(key)).not.toBe(apiKeyFingerprint(`${key}x`));
  });

  it.each([
    ['zero requests per second', { requestsPerSecond: 0 }, /requestsPerSecond/],
    ['a fractional rate', { requestsPerSecond: 1.5 }, /requestsPerSecond/],
    ['zero concurrency', { maxConcurrent: 0 }, /maxConcurrent/],
  ])('refuses %s', (_name, options, message) => {
    expect(() => new IterableRateLimiter({ redis, requestsPerSecond: 5, ...options })).toThrow(message);
  });

  it('waits (does not fail) once the per-second budget is used: 21 calls at 10/s take over 2 s', async () => {
    const l = limiter({ requestsPerSecond: 10 });
    const key = testApiKey('rate');
    const started = Date.now();
    const grantedAt: number[] = [];
    for (let i = 0; i < 21; i++) {
      const lease = await l.acquire(key);
      grantedAt.push(Date.now() - started);
      await lease.release();
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(3500);
    // Evenly spaced, about 105 ms apart: never more than 10 in any one-second span, never a burst.
    for (const t of grantedAt) expect(grantedAt.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
    expect(grantedAt[9]).toBeGreaterThan(800);
  });

  // A call that leaves late (its process busy after the grant) must not arrive within one second of the calls
  // granted a window after it: Iterable counts arrivals, so it is counted in the window from when it went out.
  it('counts a call in the window from when it went out, not from its grant, without spacing the grants further', async () => {
    const l = limiter({ requestsPerSecond: 2, windowMarginMs: 0 });
    const key = testApiKey('sent');
    const started = Date.now();
    const first = await l.acquire(key);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await first.sent?.();
    const second = await l.acquire(key);
    // Spacing is between grants (500 ms), whenever the first call went out.
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    expect(Date.now() - started).toBeLessThan(700);
    await second.sent?.();
    const third = await l.acquire(key);
    // Two calls in any 1000 ms: the third waits for a second after the first call went out (300 ms), not its grant.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1290);
    await Promise.all([first.release(), second.release(), third.release()]);
  });

  it('caps concurrency per key: the next caller waits for a release', async () => {
    const l = limiter({ maxConcurrent: 2 });
    const key = testApiKey('conc');
    const a = await l.acquire(key);
    await l.acquire(key);
    expect(await l.inFlight(key)).toBe(2);
    const third = l.acquire(key);
    expect(await settle(third, 200)).toBe(false);
    await a.release();
    const lease = (await Promise.race([third, new Promise((_, reject) => setTimeout(() => reject(new Error('not granted')), 1000))])) as LimiterLease;
    expect(await l.inFlight(key)).toBe(2);
    await lease.release();
    await lease.release(); // idempotent
    expect(await l.inFlight(key)).toBe(1);
  });

  it('keys are independent: one key at its cap does not hold up another', async () => {
    const l = limiter({ maxConcurrent: 1 });
    await l.acquire(testApiKey('busy'));
    expect(await settle(l.acquire(testApiKey('free')), 200)).toBe(true);
  });

  it('a lease never released (a crashed process) lapses after leaseTtlMs', async () => {
    const l = limiter({ maxConcurrent: 1, leaseTtlMs: 300 });
    const key = testApiKey('ttl');
    await l.acquire(key); // never released
    const started = Date.now();
    const lease = await l.acquire(key);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1500);
    await lease.release();
  });

  it('gives up after maxWaitMs with LimiterWaitTimeoutError and frees nothing it did not take', async () => {
    const l = limiter({ maxConcurrent: 1, maxWaitMs: 150 });
    const key = testApiKey('wait');
    await l.acquire(key);
    await expect(l.acquire(key)).rejects.toBeInstanceOf(LimiterWaitTimeoutError);
    expect(await l.inFlight(key)).toBe(1);
  });

  it('pause() holds every caller of the key for the given time', async () => {
    const l = limiter({ requestsPerSecond: 50 });
    const key = testApiKey('pause');
    await (await l.acquire(key)).release();
    await l.pause(key, 1000);
    const started = Date.now();
    await (await l.acquire(key)).release();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('writes Redis keys under the prefix, named by the fingerprint, never by the API key', async () => {
    const l = limiter();
    const key = testApiKey('secret');
    await l.acquire(key);
    const keys = await keysUnder(redis, prefix);
    expect(keys.sort()).toEqual([
      `${prefix}:conc:${apiKeyFingerprint(key)}`,
      `${prefix}:last:${apiKeyFingerprint(key)}`,
      `${prefix}:rate:${apiKeyFingerprint(key)}`,
    ]);
    for (const k of keys) {
      expect(k).not.toContain(key);
      const dump = (await redis.type(k)) === 'zset' ? await redis.zrange(k, 0, -1, 'WITHSCORES') : [await redis.get(k)];
      expect(dump.join(' ')).not.toContain(key);
    }
  });

  it('can open and close its own Redis connection from a URL', async () => {
    const own = new IterableRateLimiter({ redis: TEST_REDIS_URL, keyPrefix: prefix, requestsPerSecond: 5 });
    await (await own.acquire(testApiKey('url'))).release();
    await own.close();
    expect(await redis.ping()).toBe('PONG');
  });

  describe('with the client and the fake', () => {
    let fake: RunningFakeIterable;
    beforeAll(async () => {
      fake = await startFakeIterable();
    });
    afterAll(() => fake.close());

    it('the fake never sees more calls in flight than maxConcurrent', async () => {
      const key = testApiKey('fake');
      const listId = fake.state.createList(fake.state.createProject({ apiKey: key, type: 'hybrid' }), 'l').id;
      fake.state.setFaults({ slow: { delayMs: 100 } });
      const client = new IterableClient({ apiKey: key, dataCenter: 'US', baseUrlOverride: fake.url, rateLimiter: limiter({ maxConcurrent: 2 }) });
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.subscribe(listId, [{ email: `u${i}@example.com` }])));
      client.close();
      expect(results.every((r) => r.verdicts[0].outcome.kind === 'delivered')).toBe(true);
      expect(fake.state.statsFor(key)).toMatchObject({ requests: 8, maxInFlight: 2 });
    });
  });
});
