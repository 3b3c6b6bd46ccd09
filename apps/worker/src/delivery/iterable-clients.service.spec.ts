import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { DependencyState, validateEnvironment } from '@audience-bridge/config';
import { concurrencyLeaseTtlMs, IterableClientsService } from './iterable-clients.service';

const quiet = { log: () => undefined, warn: () => undefined };

describe('IterableClientsService: concurrency slots of a worker killed mid-call', () => {
  const prefix = `clients-spec-${randomUUID()}`;
  // A wait for a slot gives up after a third of the list lease: 10 s here, so a slot held past that fails the test.
  const env = validateEnvironment({ NODE_ENV: 'test', QUEUE_PREFIX: prefix, ITERABLE_TIMEOUT_MS: '300', LIST_LEASE_TTL_MS: '30000' });
  const service = new IterableClientsService(env, new DependencyState('redis', env.REDIS_URL, quiet));

  afterAll(async () => {
    await service.onApplicationShutdown();
    const redis = new Redis(env.REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('come back after twice the call timeout and the fence write, not after a fixed minute', async () => {
    expect(concurrencyLeaseTtlMs(env)).toBe(5_600);
    const apiKey = 'a'.repeat(32);
    // The killed worker's four calls: slots taken and never given back.
    for (let i = 0; i < env.ITERABLE_MAX_CONCURRENT; i++) await service.limiter.acquire(apiKey);
    expect(await service.limiter.inFlight(apiKey)).toBe(env.ITERABLE_MAX_CONCURRENT);
    const started = Date.now();
    const lease = await service.limiter.acquire(apiKey);
    const waited = Date.now() - started;
    await lease.release();
    expect(waited).toBeGreaterThan(concurrencyLeaseTtlMs(env) - 1_500);
    expect(waited).toBeLessThan(concurrencyLeaseTtlMs(env) + 2_000);
  }, 20_000);
});
