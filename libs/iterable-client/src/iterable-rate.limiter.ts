import { createHmac, hkdfSync, randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import type { IterableRequestLimiter, LimiterLease } from './iterable.types';
import { RedisSemaphore } from './redis.semaphore';
import { RedisSlidingWindow } from './redis-sliding-window';

/**
 * Redis keys name an API key by this keyed hash, never by the key or a plain hash of it (which a leaked or
 * guessed key could be checked against): an HMAC under a key derived from the process's ENCRYPTION_KEY (which
 * every worker of a deployment shares; `resolveSecrets` sets it in development). Without one (this library's
 * own tests) the derived key is fixed: consistent, not secret.
 */
export function apiKeyFingerprint(apiKey: string): string {
  const key = hkdfSync('sha256', Buffer.from(process.env['ENCRYPTION_KEY'] ?? '', 'base64'), Buffer.alloc(0), 'audience-bridge redis api-key name', 32);
  return createHmac('sha256', Buffer.from(key)).update(apiKey, 'utf8').digest('hex').slice(0, 32);
}

export interface IterableRateLimiterOptions {
  /** An ioredis client (left open by `close()`), or a Redis URL (the limiter opens and closes its own client). */
  redis: Redis | string;
  /** Prefix of every Redis key the limiter writes (default `iterable-limiter`). */
  keyPrefix?: string;
  /** Requests per second per API key, summed over every process (in any one-second span, not per fixed window). */
  requestsPerSecond: number;
  /** Requests in flight at once per API key, summed over every process (default 4). */
  maxConcurrent?: number;
  /** A lease not released by then (crashed process) frees its slot (default 60 000 ms; keep it above the client timeout). */
  leaseTtlMs?: number;
  /** How often a caller waiting for a concurrency slot looks again (default 25 ms, plus jitter). */
  pollIntervalMs?: number;
  /** Give up waiting after this long with a LimiterWaitTimeoutError (default: wait as long as it takes). */
  maxWaitMs?: number;
  /** Space requests evenly (1 s / requestsPerSecond apart) instead of letting them burst up to the limit (default true). */
  spreadEvenly?: boolean;
  /**
   * Added to the one-second window (default 50 ms): a request granted here reaches Iterable a little
   * later, and unevenly, so counting over a slightly longer span keeps Iterable's own count under the limit.
   */
  windowMarginMs?: number;
}

export class LimiterWaitTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`waited ${waitedMs} ms for an Iterable rate-limit slot`);
    this.name = 'LimiterWaitTimeoutError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Iterable request budget shared by every worker process: a rate (a sliding window in Redis) and a
 * concurrency cap (a Redis semaphore with expiring leases), both per API key, both keyed by a hash of
 * the key. `acquire` waits until both allow a request; `release` frees the slot.
 */
export class IterableRateLimiter implements IterableRequestLimiter {
  readonly requestsPerSecond: number;
  readonly maxConcurrent: number;
  readonly keyPrefix: string;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly windowMs: number;
  private readonly spacingMs: number;
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
    this.windowMs = 1000 + (options.windowMarginMs ?? 50);
    this.spacingMs = options.spreadEvenly === false ? 0 : Math.floor(this.windowMs / options.requestsPerSecond);
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
    const window = this.windowFor(fingerprint);
    try {
      for (let wait = await window.tryTake(leaseId); wait > 0; wait = await window.tryTake(leaseId)) {
        checkDeadline();
        await sleep(wait + Math.random() * 3);
      }
    } catch (error) {
      await semaphore.release(leaseId).catch(() => undefined);
      throw error;
    }
    let released = false;
    return {
      sent: () => window.sent(leaseId),
      release: async () => {
        if (released) return;
        released = true;
        await semaphore.release(leaseId);
      },
    };
  }

  /** No process may start a call with this key for `ms`: Iterable's Retry-After, shared. */
  async pause(apiKey: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    await this.windowFor(apiKeyFingerprint(apiKey)).pause(ms);
  }

  /** Live leases of a key right now (for health checks and tests). */
  inFlight(apiKey: string): Promise<number> {
    return this.semaphoreFor(apiKeyFingerprint(apiKey)).held();
  }

  async close(): Promise<void> {
    if (this.ownsRedis) await this.redis.quit();
  }

  private windowFor(fingerprint: string): RedisSlidingWindow {
    return new RedisSlidingWindow(this.redis, {
      key: `${this.keyPrefix}:rate:${fingerprint}`,
      pauseKey: `${this.keyPrefix}:pause:${fingerprint}`,
      lastGrantKey: `${this.keyPrefix}:last:${fingerprint}`,
      limit: this.requestsPerSecond,
      windowMs: this.windowMs,
      spacingMs: this.spacingMs,
    });
  }

  private semaphoreFor(fingerprint: string): RedisSemaphore {
    return new RedisSemaphore(this.redis, { key: `${this.keyPrefix}:conc:${fingerprint}`, limit: this.maxConcurrent, leaseTtlMs: this.leaseTtlMs });
  }
}
