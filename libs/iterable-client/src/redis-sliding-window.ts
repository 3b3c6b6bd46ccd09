import type { Redis } from 'ioredis';

/**
 * One grant if the key is not paused, the last grant (KEYS[3]) is at least ARGV[3] ms old (even spacing), and
 * fewer than ARGV[2] calls fall in the last ARGV[1] ms. Answers 0 when granted, else how many ms to wait.
 * Calls are members of a sorted set scored by Redis server time (so every process shares one clock): from their
 * grant, and from when they went out once that is known (SENT_LUA).
 */
const TAKE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local last = tonumber(redis.call('GET', KEYS[3]) or '-1')
if last >= 0 and now - last < spacing then return spacing - (now - last) end
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('SET', KEYS[3], now, 'PX', window)
return 0
`;

/** A granted call goes out now: counted in the window from now (never earlier than its grant). */
const SENT_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'GT', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;

/** Pause until now + ARGV[1] ms, unless a longer pause is already set. */
const PAUSE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < now + ms then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 1
`;

export interface SlidingWindowOptions {
  /** Sorted set of recent calls (by grant, or by when they went out). */
  key: string;
  /** The time of the last grant (even spacing is between grants, whenever the calls go out). */
  lastGrantKey: string;
  /** Set while the key is paused (a 429 with Retry-After). */
  pauseKey: string;
  limit: number;
  windowMs: number;
  /** Least time between two grants (window / limit spreads them evenly; 0 allows bursts up to the limit). */
  spacingMs: number;
}

/**
 * A rate limit shared by every process on one Redis: at most `limit` grants in ANY `windowMs` span, as
 * Iterable (and the fake) count them, not per fixed window. Fixed windows (rate-limiter-flexible's
 * RateLimiterRedis, whole seconds only) let up to twice the limit through across a window boundary,
 * which measured as 5 answers 429 per 100 calls at the limit, each pausing every list for a second.
 */
export class RedisSlidingWindow {
  constructor(
    private readonly redis: Redis,
    private readonly options: SlidingWindowOptions,
  ) {}

  /** 0 when granted (and recorded under `grantId`), else the ms to wait before asking again. */
  async tryTake(grantId: string): Promise<number> {
    const { key, pauseKey, lastGrantKey, windowMs, limit, spacingMs } = this.options;
    return Number(await this.redis.eval(TAKE_LUA, 3, key, pauseKey, lastGrantKey, windowMs, limit, spacingMs, grantId));
  }

  /**
   * The call of `grantId` goes out now: it counts in the window from now rather than from its grant, so a call
   * that left late (a busy process) does not arrive within the window of the calls granted after it.
   */
  async sent(grantId: string): Promise<void> {
    await this.redis.eval(SENT_LUA, 1, this.options.key, grantId, this.options.windowMs);
  }

  async pause(ms: number): Promise<void> {
    await this.redis.eval(PAUSE_LUA, 1, this.options.pauseKey, Math.ceil(ms));
  }
}
