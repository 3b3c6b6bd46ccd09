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

  onModuleInit(): void {
    for (const queue of [this.listSync, this.maintenance]) {
      queue.on('error', (error: unknown) => this.state.down(error));
      queue.client.on('ready', () => this.state.up());
    }
  }
}

/** The Redis state of this process, logged through Nest's logger. */
export function redisStateProvider(redisUrl: string) {
  return { provide: REDIS_STATE, useFactory: () => new DependencyState('redis', redisUrl, new Logger('Dependencies')) };
}
