import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  announceGeneratedSecrets,
  closeOnSignals,
  createAppLogger,
  DependencyState,
  exitOnBootFailure,
  resolveSecrets,
  validateEnvironment,
  waitUntilReachable,
} from '@audience-bridge/config';
import { probeDatabase } from '@audience-bridge/persistence';
import { WorkerModule } from './app/worker.module';

async function bootstrap(): Promise<void> {
  const env = validateEnvironment(process.env);
  const logger = createAppLogger('worker', { level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const { secrets, generated } = resolveSecrets(env);
  announceGeneratedSecrets((m) => logger.warn(m, 'Bootstrap'), generated, secrets);
  await waitUntilReachable(new DependencyState('database', env.DATABASE_URL, logger), () => probeDatabase(env.DATABASE_URL));
  const app = await NestFactory.createApplicationContext(WorkerModule.register(env, secrets), { logger });
  closeOnSignals(app, logger, 'worker');
  await app.init();
  logger.log('worker ready', 'Bootstrap');
}

bootstrap().catch((error: unknown) => exitOnBootFailure('worker', error));
