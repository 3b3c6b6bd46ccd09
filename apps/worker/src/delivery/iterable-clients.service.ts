import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DependencyState, Environment } from '@audience-bridge/config';
import type { Account } from '@audience-bridge/domain';
import { apiKeyFingerprint, IterableClient, IterableRateLimiter } from '@audience-bridge/iterable-client';
import { REDIS_STATE, watchRedisClient } from '@audience-bridge/queue';

/**
 * One Iterable client per API key and data center (keep-alive connections reused across batches), all
 * behind one rate limiter shared through Redis with every other worker process.
 */
@Injectable()
export class IterableClientsService implements OnApplicationShutdown {
  private readonly logger = new Logger(IterableClientsService.name);
  private readonly clients = new Map<string, IterableClient>();
  readonly limiter: IterableRateLimiter;
  private readonly redis: Redis;

  constructor(
    private readonly env: Environment,
    @Inject(REDIS_STATE) redisState: DependencyState,
  ) {
    // The limiter's own connection, watched like the queues' so an outage is said once, not per retry.
    this.redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
    watchRedisClient(this.redis, redisState);
    this.limiter = new IterableRateLimiter({
      redis: this.redis,
      keyPrefix: `${env.QUEUE_PREFIX}:iterable-limiter`,
      requestsPerSecond: env.ITERABLE_REQUESTS_PER_SECOND,
      maxConcurrent: env.ITERABLE_MAX_CONCURRENT,
      leaseTtlMs: Math.max(60_000, env.ITERABLE_TIMEOUT_MS * 2),
      // A delivery waits for a slot at most a third of its list lease, then retries later and frees its worker slot.
      maxWaitMs: Math.floor(env.LIST_LEASE_TTL_MS / 3),
    });
  }

  clientFor(account: Pick<Account, 'iterableApiKey' | 'dataCenter'>): IterableClient {
    const key = `${apiKeyFingerprint(account.iterableApiKey)}:${account.dataCenter}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new IterableClient({
        apiKey: account.iterableApiKey,
        dataCenter: account.dataCenter,
        ...(this.env.ITERABLE_API_BASE_URL ? { baseUrlOverride: this.env.ITERABLE_API_BASE_URL } : {}),
        timeoutMs: this.env.ITERABLE_TIMEOUT_MS,
        logger: this.logger,
        rateLimiter: this.limiter,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    await this.limiter.close();
    this.redis.disconnect();
  }
}
