import type { Redis } from 'ioredis';

/**
 * Take a lease if fewer than ARGV[1] live leases exist. Leases are members of a sorted set scored by their
 * expiry (Redis server time, so the machines' clocks do not matter); expired leases are dropped first, so a
 * crashed holder's slot comes back after leaseTtlMs.
 */
const ACQUIRE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
`;

const COUNT_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

export interface RedisSemaphoreOptions {
  /** Redis key of the sorted set holding the leases. */
  key: string;
  limit: number;
  leaseTtlMs: number;
}

/** A counting semaphore shared by every process that uses the same Redis key. */
export class RedisSemaphore {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisSemaphoreOptions,
  ) {}

  async tryAcquire(leaseId: string): Promise<boolean> {
    const taken = await this.redis.eval(ACQUIRE_LUA, 1, this.options.key, this.options.limit, this.options.leaseTtlMs, leaseId);
    return Number(taken) === 1;
  }

  async release(leaseId: string): Promise<void> {
    await this.redis.zrem(this.options.key, leaseId);
  }

  /** Live leases right now. */
  async held(): Promise<number> {
    return Number(await this.redis.eval(COUNT_LUA, 1, this.options.key));
  }
}
