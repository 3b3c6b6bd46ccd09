import { DynamicModule, Module } from '@nestjs/common';
import { Environment, EnvironmentModule, Secrets } from '@audience-bridge/config';
import { PersistenceModule } from '@audience-bridge/persistence';
import { QueueModule } from '@audience-bridge/queue';
import { AdminModule } from '../admin/admin.module';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { DriftModule } from '../drift/drift.module';
import { HealthModule } from '../health/health.module';
import { MetricsModule } from '../metrics/api-metrics';
import { MparticleModule } from '../mparticle/mparticle.module';

/** The HTTP app: the mParticle endpoint, the admin and audit API, health and metrics. */
@Module({})
export class ApiModule {
  static register(env: Environment, secrets: Secrets): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        EnvironmentModule.forRoot(env),
        AuthModule.forRoot(secrets),
        PersistenceModule.forRoot({
          databaseUrl: env.DATABASE_URL,
          encryptionKey: secrets.ENCRYPTION_KEY,
          previousEncryptionKey: env.ENCRYPTION_KEY_PREVIOUS,
          ingestGroupsInFlight: env.INGEST_GROUPS_IN_FLIGHT,
        }),
        QueueModule.forRoot({ redisUrl: env.REDIS_URL, prefix: env.QUEUE_PREFIX }),
        HealthModule,
        MparticleModule,
        AdminModule,
        AuditModule,
        DriftModule,
        MetricsModule,
      ],
    };
  }
}
