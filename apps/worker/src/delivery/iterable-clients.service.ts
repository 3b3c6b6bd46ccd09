import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DependencyState, Environment } from '@audience-bridge/config';
import type { Account } from '@audience-bridge/domain';
import { apiKeyFingerprint, IterableClient, IterableRateLimiter } from '@audience-bridge/iterable-client';
import { REDIS_STATE, watchRedisClient } from '@audience-bridge/queue';

/** Iterable's limit on `users/forget`: 3 requests per second per project. */
export const FORGET_REQUESTS_PER_SECOND = 3;
/** Iterable's limit on `users/bulkUpdate`: 5 requests per second per project. */
export const BULK_UPDATE_REQUESTS_PER_SECOND = 5;

/**
 * How long a concurrency slot stays taken when its holder never gives it back (a worker killed mid-call): twice
 * the call's timeout, and 5 s for the fence write before it. A live call ends (answer or timeout) well inside
 * it. It was a fixed 60 s: a worker killed with all four slots of a key in flight stopped that key's deliveries
 * (and an erasure waiting on them) for a minute, whatever the timeout (found by the model checker, seed 1 SQLite).
 */
export function concurrencyLeaseTtlMs(env: Pick<Environment, 'ITERABLE_TIMEOUT_MS'>): number {
  return env.ITERABLE_TIMEOUT_MS * 2 + 5_000;
}

/**
 * One Iterable client per API key and data center (keep-alive connections reused across batches), all
 * behind one rate limiter shared through Redis with every other worker process. Erasure (`users/forget`)
 * has its own budget and so its own limiter and clients: it never takes list delivery's turns.
 */
@Injectable()
export class IterableClientsService implements OnApplicationShutdown {
  private readonly logger = new Logger(IterableClientsService.name);
  private readonly clients = new Map<string, IterableClient>();
  private readonly forgetClients = new Map<string, IterableClient>();
  private readonly attributesClients = new Map<string, IterableClient>();
  readonly limiter: IterableRateLimiter;
  readonly forgetLimiter: IterableRateLimiter;
  readonly attributesLimiter: IterableRateLimiter;
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
      leaseTtlMs: concurrencyLeaseTtlMs(env),
      // A delivery waits for a slot at most a third of its list lease, then retries later and frees its worker slot.
      maxWaitMs: Math.floor(env.LIST_LEASE_TTL_MS / 3),
    });
    this.forgetLimiter = new IterableRateLimiter({
      redis: this.redis,
      keyPrefix: `${env.QUEUE_PREFIX}:iterable-forget-limiter`,
      requestsPerSecond: FORGET_REQUESTS_PER_SECOND,
      maxConcurrent: 1,
      leaseTtlMs: concurrencyLeaseTtlMs(env),
      maxWaitMs: 30_000,
    });
    this.attributesLimiter = new IterableRateLimiter({
      redis: this.redis,
      keyPrefix: `${env.QUEUE_PREFIX}:iterable-attributes-limiter`,
      requestsPerSecond: BULK_UPDATE_REQUESTS_PER_SECOND,
      maxConcurrent: 2,
      leaseTtlMs: concurrencyLeaseTtlMs(env),
      maxWaitMs: 30_000,
    });
  }

  /** The client for list calls (`lists/subscribe`, `lists/unsubscribe`). */
  clientFor(account: Pick<Account, 'iterableApiKey' | 'dataCenter'>): IterableClient {
    return this.cached(this.clients, account, this.limiter);
  }

  /** The client for `users/forget`, under its own 3 requests/s per project. */
  forgetClientFor(account: Pick<Account, 'iterableApiKey' | 'dataCenter'>): IterableClient {
    return this.cached(this.forgetClients, account, this.forgetLimiter);
  }

  /** The client for `users/bulkUpdate` (forwarded user attributes), under its own 5 requests/s per project. */
  attributesClientFor(account: Pick<Account, 'iterableApiKey' | 'dataCenter'>): IterableClient {
    return this.cached(this.attributesClients, account, this.attributesLimiter);
  }

  private cached(
    clients: Map<string, IterableClient>,
    account: Pick<Account, 'iterableApiKey' | 'dataCenter'>,
    rateLimiter: IterableRateLimiter,
  ): IterableClient {
    const key = `${apiKeyFingerprint(account.iterableApiKey)}:${account.dataCenter}`;
    let client = clients.get(key);
    if (!client) {
      client = new IterableClient({
        apiKey: account.iterableApiKey,
        dataCenter: account.dataCenter,
        ...(this.env.ITERABLE_API_BASE_URL ? { baseUrlOverride: this.env.ITERABLE_API_BASE_URL } : {}),
        timeoutMs: this.env.ITERABLE_TIMEOUT_MS,
        logger: this.logger,
        rateLimiter,
      });
      clients.set(key, client);
    }
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const client of [...this.clients.values(), ...this.forgetClients.values(), ...this.attributesClients.values()]) client.close();
    this.clients.clear();
    this.forgetClients.clear();
    this.attributesClients.clear();
    await this.limiter.close();
    await this.forgetLimiter.close();
    await this.attributesLimiter.close();
    this.redis.disconnect();
  }
}
