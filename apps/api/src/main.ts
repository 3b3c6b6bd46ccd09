import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { closeOnSignals, createAppLogger, exitOnBootFailure, validateEnvironment } from '@audience-bridge/config';
import { ApiModule } from './app/api.module';
import { JsonExceptionFilter } from './common/json-exception.filter';

async function bootstrap(): Promise<void> {
  const env = validateEnvironment(process.env);
  const logger = createAppLogger('api', { level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.register(env), { logger, bodyParser: true });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new JsonExceptionFilter());
  closeOnSignals(app, logger, 'api');
  await app.listen(env.PORT, '0.0.0.0');
  logger.log(`API listening on ${await app.getUrl()}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => exitOnBootFailure('api', error));
