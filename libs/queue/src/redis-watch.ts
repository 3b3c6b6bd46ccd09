import { getQueueToken } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bull';
import type { Redis } from 'ioredis';
import { DependencyState } from '@audience-bridge/config';
import { QUEUES } from './queue.constants';

/** Reports a Redis client's errors and recoveries through `state` (one line per change, never a stack). */
export function watchRedisClient(client: Pick<Redis, 'on'>, state: DependencyState): void {
  client.on('error', (error: unknown) => state.down(error));
  client.on('ready', () => state.up());
}

/**
 * Bull's complaint about one job's own keys (its hash or lock gone, as after Redis lost the queue's data while
 * the job ran), which Bull emits as a queue error like a lost connection: Redis answered, so it is not down.
 */
export function isJobStateError(error: unknown): boolean {
  return error instanceof Error && /^(Missing (key|lock) for job|Missing Job |Job \S+ (is not in the|was locked)|Lock mismatch for job)/.test(error.message);
}

export const REDIS_STATE = Symbol('REDIS_STATE');

/**
 * Watches the queues' Redis connections: when Redis is down the process says so once (with REDIS_URL
 * without credentials and what to do), and once more when it is back. Bull and ioredis keep reconnecting
 * with backoff meanwhile; nothing is lost because every change is in the database first.
 */
@Injectable()
export class RedisConnectionWatch implements OnModuleInit {
  constructor(
    @Inject(REDIS_STATE) readonly state: DependencyState,
    @Inject(getQueueToken(QUEUES.listSync)) private readonly listSync: Queue,
    @Inject(getQueueToken(QUEUES.maintenance)) private readonly maintenance: Queue,
  ) {}

  private readonly logger = new Logger('Queue');

  onModuleInit(): void {
    for (const queue of [this.listSync, this.maintenance]) {
      queue.on('error', (error: unknown) => {
        if (!isJobStateError(error)) return this.state.down(error);
        this.logger.warn(`${queue.name}: ${(error as Error).message} (Redis lost this job's keys; its work is in the database and is signalled again)`);
      });
      queue.client.on('ready', () => this.state.up());
    }
  }
}

/** The Redis state of this process, logged through Nest's logger. */
export function redisStateProvider(redisUrl: string) {
  return { provide: REDIS_STATE, useFactory: () => new DependencyState('redis', redisUrl, new Logger('Dependencies')) };
}
