import type { Redis } from 'ioredis';

/**
 * One grant if the key is not paused, the last grant is at least ARGV[3] ms old (even spacing), and fewer
 * than ARGV[2] grants fall in the last ARGV[1] ms. Answers 0 when granted, else how many ms to wait.
 * Grants are members of a sorted set scored by Redis server time, so every process shares one clock.
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
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if last[2] and now - tonumber(last[2]) < spacing then return spacing - (now - tonumber(last[2])) end
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
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
  /** Sorted set of recent grants. */
  key: string;
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
    const { key, pauseKey, windowMs, limit, spacingMs } = this.options;
    return Number(await this.redis.eval(TAKE_LUA, 2, key, pauseKey, windowMs, limit, spacingMs, grantId));
  }

  async pause(ms: number): Promise<void> {
    await this.redis.eval(PAUSE_LUA, 1, this.options.pauseKey, Math.ceil(ms));
  }
}
