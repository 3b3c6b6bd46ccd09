import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DependencyState, Environment } from '@audience-bridge/config';
import type { Account } from '@audience-bridge/domain';
import { apiKeyFingerprint, IterableListReader, ListReadLimiter } from '@audience-bridge/iterable-client';
import { REDIS_STATE, watchRedisClient } from '@audience-bridge/queue';

/**
 * One list reader per API key and data center, all behind one read budget shared through Redis with every
 * other worker (ITERABLE_LIST_READS_PER_MINUTE, Iterable's 5 getUsers per minute per project), in the same key
 * family as the delivery limiter but a budget of its own: a drift check never takes a delivery's turn.
 */
@Injectable()
export class ListReadersService implements OnApplicationShutdown {
  private readonly logger = new Logger('DriftListReads');
  private readonly readers = new Map<string, IterableListReader>();
  private readonly redis: Redis;
  readonly limiter: ListReadLimiter;
  /** Iterable counts `size` reads apart from getUsers (5 a minute per project too): a check asks one after each read. */
  readonly sizeLimiter: ListReadLimiter;

  constructor(
    private readonly env: Environment,
    @Inject(REDIS_STATE) redisState: DependencyState,
  ) {
    this.redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
    watchRedisClient(this.redis, redisState);
    this.limiter = new ListReadLimiter({
      redis: this.redis,
      keyPrefix: `${env.QUEUE_PREFIX}:iterable-limiter`,
      requestsPerMinute: env.ITERABLE_LIST_READS_PER_MINUTE,
    });
    this.sizeLimiter = new ListReadLimiter({
      redis: this.redis,
      keyPrefix: `${env.QUEUE_PREFIX}:iterable-limiter`,
      requestsPerMinute: env.ITERABLE_LIST_READS_PER_MINUTE,
      budget: 'list-sizes',
    });
  }

  readerFor(account: Pick<Account, 'iterableApiKey' | 'dataCenter'>): IterableListReader {
    const key = `${apiKeyFingerprint(account.iterableApiKey)}:${account.dataCenter}`;
    let reader = this.readers.get(key);
    if (!reader) {
      reader = new IterableListReader({
        apiKey: account.iterableApiKey,
        dataCenter: account.dataCenter,
        ...(this.env.ITERABLE_API_BASE_URL ? { baseUrlOverride: this.env.ITERABLE_API_BASE_URL } : {}),
        // Idle time allowed while the answer streams (Iterable may take a while to start a large list).
        timeoutMs: Math.max(this.env.ITERABLE_TIMEOUT_MS, 60_000),
        logger: this.logger,
        limiter: this.limiter,
        sizeLimiter: this.sizeLimiter,
      });
      this.readers.set(key, reader);
    }
    return reader;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const reader of this.readers.values()) reader.close();
    this.readers.clear();
    await this.limiter.close();
    await this.sizeLimiter.close();
    this.redis.disconnect();
  }
}
