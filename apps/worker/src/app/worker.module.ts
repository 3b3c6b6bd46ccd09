import { DynamicModule, Module } from '@nestjs/common';
import { Environment, EnvironmentModule, Secrets } from '@audience-bridge/config';
import { PersistenceModule } from '@audience-bridge/persistence';
import { QueueModule } from '@audience-bridge/queue';
import { AttributesModule } from '../attributes/attributes.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { DriftModule } from '../drift/drift.module';
import { ErasureModule } from '../erasure/erasure.module';
import { WorkerHealthService } from '../health/worker-health.service';
import { MetricsModule } from '../metrics/metrics.module';

/**
 * The worker: an application context with the API's shared modules (environment, persistence, queue)
 * and none of its HTTP layer; it runs the queue processors and the sweeper, and serves health and
 * metrics on WORKER_PORT.
 */
@Module({})
export class WorkerModule {
  static register(env: Environment, secrets: Pick<Secrets, 'ENCRYPTION_KEY'>): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        EnvironmentModule.forRoot(env),
        PersistenceModule.forRoot({ databaseUrl: env.DATABASE_URL, encryptionKey: secrets.ENCRYPTION_KEY, previousEncryptionKey: env.ENCRYPTION_KEY_PREVIOUS }),
        QueueModule.forRoot({ redisUrl: env.REDIS_URL, prefix: env.QUEUE_PREFIX }),
        MetricsModule,
        DeliveryModule,
        ErasureModule,
        DriftModule,
        AttributesModule,
      ],
      providers: [WorkerHealthService],
    };
  }
}
