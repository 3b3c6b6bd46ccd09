import { createHash, randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

import type { IterableRequestLimiter, LimiterLease } from './iterable.types';
import { RedisSemaphore } from './redis.semaphore';

/** Redis keys name an API key by this hash, never by the key itself. */
export function apiKeyFingerprint(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex').slice(0, 32);
}

export interface IterableRateLimiterOptions {
  /** An ioredis client (left open by `close()`), or a Redis URL (the limiter opens and closes its own client). */
  redis: Redis | string;
  /** Prefix of every Redis key the limiter writes (default `iterable-limiter`). */
  keyPrefix?: string;
  /** Requests per second per API key, summed over every process (fixed one-second windows). */
  requestsPerSecond: number;
  /** Requests in flight at once per API key, summed over every process (default 4). */
  maxConcurrent?: number;
  /** A lease not released by then (crashed process) frees its slot (default 60 000 ms; keep it above the client timeout). */
  leaseTtlMs?: number;
  /** How often a caller waiting for a concurrency slot looks again (default 25 ms, plus jitter). */
  pollIntervalMs?: number;
  /** Give up waiting after this long with a LimiterWaitTimeoutError (default: wait as long as it takes). */
  maxWaitMs?: number;
  /** Spread the requests of a window over the window instead of letting them burst at its start (default true). */
  spreadEvenly?: boolean;
}

export class LimiterWaitTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`waited ${waitedMs} ms for an Iterable rate-limit slot`);
    this.name = 'LimiterWaitTimeoutError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Iterable request budget shared by every worker process: a rate (rate-limiter-flexible's
 * RateLimiterRedis) and a concurrency cap (a Redis semaphore with expiring leases), both per API key,
 * both keyed by a hash of the key. `acquire` waits until both allow a request; `release` frees the slot.
 */
export class IterableRateLimiter implements IterableRequestLimiter {
  readonly requestsPerSecond: number;
  readonly maxConcurrent: number;
  readonly keyPrefix: string;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly rate: RateLimiterRedis;
  private readonly leaseTtlMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;

  constructor(options: IterableRateLimiterOptions) {
    if (!(Number.isInteger(options.requestsPerSecond) && options.requestsPerSecond > 0)) {
      throw new TypeError('requestsPerSecond must be a positive integer');
    }
    const maxConcurrent = options.maxConcurrent ?? 4;
    if (!(Number.isInteger(maxConcurrent) && maxConcurrent > 0)) throw new TypeError('maxConcurrent must be a positive integer');
    this.requestsPerSecond = options.requestsPerSecond;
    this.maxConcurrent = maxConcurrent;
    this.keyPrefix = options.keyPrefix ?? 'iterable-limiter';
    this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 25;
    this.maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    this.ownsRedis = typeof options.redis === 'string';
    this.redis = typeof options.redis === 'string' ? new Redis(options.redis, { maxRetriesPerRequest: 2 }) : options.redis;
    this.rate = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: `${this.keyPrefix}:rate`,
      points: options.requestsPerSecond,
      duration: 1,
      execEvenly: options.spreadEvenly ?? true,
      // Without this, rate-limiter-flexible turns a short spreading delay into `consumed × minDelay`, which
      // throttles a steady caller far below the budget. 0 keeps the plain spread: msBeforeNext / (remaining + 2).
      execEvenlyMinDelayMs: 0,
    });
  }

  /** Waits for a concurrency slot, then for a rate token; resolves with the lease to release after the call. */
  async acquire(apiKey: string): Promise<LimiterLease> {
    const fingerprint = apiKeyFingerprint(apiKey);
    const started = Date.now();
    const checkDeadline = (): void => {
      if (Date.now() - started > this.maxWaitMs) throw new LimiterWaitTimeoutError(Date.now() - started);
    };
    const semaphore = this.semaphoreFor(fingerprint);
    const leaseId = randomUUID();
    while (!(await semaphore.tryAcquire(leaseId))) {
      checkDeadline();
      await sleep(this.pollIntervalMs + Math.random() * this.pollIntervalMs);
    }
    try {
      for (;;) {
        try {
          await this.rate.consume(fingerprint, 1);
          break;
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          checkDeadline();
          await sleep(Math.max(rejection.msBeforeNext, 1) + Math.random() * 5);
        }
      }
    } catch (error) {
      await semaphore.release(leaseId).catch(() => undefined);
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await semaphore.release(leaseId);
      },
    };
  }

  /** No process may start a call with this key for `ms` (rounded up to whole seconds): Iterable's Retry-After, shared. */
  async pause(apiKey: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    await this.rate.block(apiKeyFingerprint(apiKey), Math.ceil(ms / 1000));
  }

  /** Live leases of a key right now (for health checks and tests). */
  inFlight(apiKey: string): Promise<number> {
    return this.semaphoreFor(apiKeyFingerprint(apiKey)).held();
  }

  async close(): Promise<void> {
    if (this.ownsRedis) await this.redis.quit();
  }

  private semaphoreFor(fingerprint: string): RedisSemaphore {
    return new RedisSemaphore(this.redis, { key: `${this.keyPrefix}:conc:${fingerprint}`, limit: this.maxConcurrent, leaseTtlMs: this.leaseTtlMs });
  }
}
