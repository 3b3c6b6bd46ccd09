import { DynamicModule, Module } from '@nestjs/common';
import { Environment, EnvironmentModule } from '@audience-bridge/config';
import { HealthModule } from '../health/health.module';

/** The HTTP app: the mParticle endpoint, the admin and audit API, health and metrics. */
@Module({})
export class ApiModule {
  static register(env: Environment): DynamicModule {
    return { module: ApiModule, imports: [EnvironmentModule.forRoot(env), HealthModule] };
  }
}
