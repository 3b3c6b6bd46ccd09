import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { apiKeyFingerprint, LimiterWaitTimeoutError } from './iterable-rate.limiter';
import type { IterableRequestLimiter, LimiterLease } from './iterable.types';
import { RedisSlidingWindow } from './redis-sliding-window';

export interface ListReadLimiterOptions {
  /** An ioredis client (left open by `close()`), or a Redis URL (the limiter opens and closes its own client). */
  redis: Redis | string;
  /** Prefix of every Redis key (the delivery limiter's, `…:iterable-limiter`, so one family holds every Iterable budget). */
  keyPrefix?: string;
  /** Reads per minute per API key, summed over every process (Iterable: 5 per project for getUsers). */
  requestsPerMinute: number;
  /** Added to the minute (default 2 s): a grant reaches Iterable a little later, so counting a longer span keeps Iterable's count under. */
  windowMarginMs?: number;
  /** The span counted, before the margin (default 60 000 ms; shorter in tests). */
  windowMs?: number;
  /** How long a caller waits for a read at most (default: as long as it takes, queueing behind the others). */
  maxWaitMs?: number;
  /** Called while a caller waits, with the ms until it may ask again (heartbeats, logs). */
  onWait?: (waitMs: number) => void;
  /** The budget's name in its keys (default `list-reads`, getUsers'; `list-sizes` for the size endpoint, which Iterable counts apart). */
  budget?: string;
}

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The budget of Iterable's list read endpoints (`GET /api/lists/getUsers`: 5 requests per minute per project),
 * shared by every worker process through Redis: a sliding window of `requestsPerMinute` grants in any
 * minute (plus a margin), per API key, kept apart from the delivery limiter's budget so a drift check never
 * takes a turn of `lists/subscribe`. `acquire` waits its turn (queues) rather than fails; no concurrency
 * slot is held, so a long read never stands in a delivery's way. Keys: `<prefix>:<budget>:<fp>` and
 * `<prefix>:<budget>-pause:<fp>` (budget `list-reads` by default), named by the keyed fingerprint, never by the key.
 */
export class ListReadLimiter implements IterableRequestLimiter {
  readonly requestsPerMinute: number;
  readonly keyPrefix: string;
  readonly budget: string;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly windowMs: number;
  private readonly maxWaitMs: number;
  private readonly onWait: ((waitMs: number) => void) | undefined;

  constructor(options: ListReadLimiterOptions) {
    if (!(Number.isInteger(options.requestsPerMinute) && options.requestsPerMinute > 0)) throw new TypeError('requestsPerMinute must be a positive integer');
    this.requestsPerMinute = options.requestsPerMinute;
    this.keyPrefix = options.keyPrefix ?? 'iterable-limiter';
    this.budget = options.budget ?? 'list-reads';
    this.windowMs = (options.windowMs ?? 60_000) + (options.windowMarginMs ?? 2000);
    this.maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    this.onWait = options.onWait;
    this.ownsRedis = typeof options.redis === 'string';
    this.redis = typeof options.redis === 'string' ? new Redis(options.redis, { maxRetriesPerRequest: 2 }) : options.redis;
  }

  /**
   * Waits for a read's turn; the lease holds nothing (the budget is a rate, not a slot). An aborted `signal`
   * (a worker shutting down) stops the wait at once with the signal's reason, and takes no grant.
   */
  async acquire(apiKey: string, options: { signal?: AbortSignal } = {}): Promise<LimiterLease> {
    const { signal } = options;
    const window = this.windowFor(apiKeyFingerprint(apiKey));
    const grantId = randomUUID();
    const started = Date.now();
    signal?.throwIfAborted();
    for (let wait = await window.tryTake(grantId); wait > 0; wait = await window.tryTake(grantId)) {
      if (Date.now() - started + wait > this.maxWaitMs) throw new LimiterWaitTimeoutError(Date.now() - started);
      this.onWait?.(wait);
      // Never more than a few seconds at once: a pause set meanwhile, or a freed grant, is seen soon.
      await sleep(Math.min(wait, 5000) + Math.random() * 50, signal);
      signal?.throwIfAborted();
    }
    return { release: async () => undefined };
  }

  /** Iterable answered 429 with Retry-After: nobody reads with this key for `ms`. */
  async pause(apiKey: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    await this.windowFor(apiKeyFingerprint(apiKey)).pause(ms);
  }

  /** Reads granted in the last minute for this key (metrics, tests). */
  async used(apiKey: string): Promise<number> {
    const key = `${this.keyPrefix}:${this.budget}:${apiKeyFingerprint(apiKey)}`;
    const now = Number((await this.redis.time())[0]) * 1000;
    return this.redis.zcount(key, now - this.windowMs, '+inf');
  }

  async close(): Promise<void> {
    if (this.ownsRedis) await this.redis.quit();
  }

  private windowFor(fingerprint: string): RedisSlidingWindow {
    return new RedisSlidingWindow(this.redis, {
      key: `${this.keyPrefix}:${this.budget}:${fingerprint}`,
      pauseKey: `${this.keyPrefix}:${this.budget}-pause:${fingerprint}`,
      lastGrantKey: `${this.keyPrefix}:${this.budget}-last:${fingerprint}`,
      limit: this.requestsPerMinute,
      windowMs: this.windowMs,
      spacingMs: 0,
    });
  }
}
