import { DynamicModule, Module } from '@nestjs/common';
import { Environment, EnvironmentModule } from '@audience-bridge/config';
import { WorkerHealthService } from '../health/worker-health.service';

/** The worker: an application context (no public HTTP API, only health) that runs the queue processors. */
@Module({})
export class WorkerModule {
  static register(env: Environment): DynamicModule {
    return { module: WorkerModule, imports: [EnvironmentModule.forRoot(env)], providers: [WorkerHealthService] };
  }
}
