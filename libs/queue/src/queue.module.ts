import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ListSyncProducer } from './list-sync.producer';
import { QUEUES } from './queue.constants';
import { REDIS_STATE, RedisConnectionWatch, redisStateProvider } from './redis-watch';

export interface QueueConnection {
  redisUrl: string;
  prefix: string;
}

/** Bull on Redis: the connection and prefix in one place, the queues registered, the producer exported. */
@Module({})
export class QueueModule {
  static forRoot(connection: QueueConnection): DynamicModule {
    const queues = BullModule.registerQueue({ name: QUEUES.listSync }, { name: QUEUES.maintenance });
    return {
      module: QueueModule,
      global: true,
      imports: [BullModule.forRoot({ url: connection.redisUrl, prefix: connection.prefix }), queues],
      providers: [ListSyncProducer, redisStateProvider(connection.redisUrl), RedisConnectionWatch],
      exports: [queues, ListSyncProducer, REDIS_STATE],
    };
  }
}
