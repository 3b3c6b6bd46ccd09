import './metrics/offer-metrics-early';
import 'reflect-metadata';
import cluster from 'node:cluster';
import { join } from 'node:path';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
import { ApiModule } from './app/api.module';
import { serveConsole } from './console/serve-console';
import { answerFrameworkError, enterRequest, nameRequest, requestIdOf } from './common/correlation.hook';
import { JsonExceptionFilter } from './common/json-exception.filter';
import { registerJsonBodies } from './common/json-bodies';
import { keepConnectionsAlive } from './common/keep-alive';
import { requireJsonBody } from './common/require-json-body.hook';
import { ApiMetrics } from './metrics/api-metrics';
import { answerMetricsAsks, shareRegistry } from './metrics/cluster-metrics';
import { timeMparticleAnswers } from './metrics/mparticle-answers';

async function bootstrap(): Promise<void> {
  const env = validateEnvironment(process.env);
  const logger = createAppLogger('api', { level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const { secrets, generated } = resolveSecrets(env);
  // One of several API processes (answering the primary's asks for metrics since offer-metrics-early.ts loaded).
  const clustered = cluster.isWorker && env.API_PROCESSES > 1;

  // Nothing works without the database: wait for it, saying so once (README "Set up"), not a stack per retry.
  await waitUntilReachable(new DependencyState('database', env.DATABASE_URL, logger), () => probeDatabase(env.DATABASE_URL));

  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(env, secrets), fastifyAdapter(), { logger, bodyParser: false });
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(ApiMetrics);
  if (clustered) shareRegistry(metrics.registry);
  // First, so every answer of the Firehose route is timed, those of the hooks and the parser below included.
  fastify.addHook('onRequest', timeMparticleAnswers(metrics));
  fastify.addHook('onRequest', nameRequest);
  fastify.addHook('onRequest', requireJsonBody);
  // The only body parser: limits by token, JSON, its shape (json-bodies.ts).
  registerJsonBodies(fastify, env.MAX_BODY_BYTES, secrets);
  fastify.addHook('preHandler', enterRequest);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new JsonExceptionFilter());

  const openApi = new DocumentBuilder()
    .setTitle('audience-bridge')
    .setDescription('mParticle Firehose partner that keeps Iterable lists in step with mParticle audiences')
    .addBearerAuth()
    .build();
  // The API description is for people building against it; production does not publish it (README "Security").
  const docs = env.NODE_ENV !== 'production';
  if (docs) SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi));

  // The operations console (apps/console, built next to this app in dist/apps/console) at `/`.
  const consoleServed = serveConsole(fastify, join(__dirname, '..', 'console'));
  if (!consoleServed) logger.warn('The operations console is not built (dist/apps/console): `npm run build` builds it', 'Bootstrap');

  // The sender closes an idle connection, not the API; none holds a shutdown (keep-alive.ts).
  const connections = keepConnectionsAlive(app.getHttpServer(), env.HTTP_KEEP_ALIVE_SECONDS);
  const stopping = {
    close: async () => {
      connections.drain();
      await app.close();
    },
  };
  closeOnSignals(stopping, logger, 'api');
  // A cluster child whose supervisor is gone (killed) closes too, instead of living on as an orphan.
  if (cluster.isWorker) process.once('disconnect', () => void stopping.close().finally(() => process.exit(0)));
  await app.listen(env.PORT, '0.0.0.0');
  announceGeneratedSecrets((m) => logger.warn(m, 'Bootstrap'), generated, secrets);
  const url = await app.getUrl();
  logger.log(`API listening on ${url}${docs ? ' (OpenAPI at /docs)' : ''}`, 'Bootstrap');
  if (consoleServed) logger.log(`Operations console at http://localhost:${env.PORT}/ (sign in with ADMIN_TOKEN)`, 'Bootstrap');
}

/**
 * Nest on Fastify (README "Benchmarks": a quarter to two fifths less CPU per message than on Express). Express's
 * defaults kept where a client could tell: a trailing slash names the same route, no 503 of its own while stopping
 * (keep-alive.ts lets answers in flight finish), long path parameters (an email or a hashed key) allowed, and
 * Node's 300 s for a whole request (Fastify's default turns it off: a client trickling a body would hold its socket).
 * Nest's middleware layer is skipped: the API's request hooks are Fastify's own (above).
 */
function fastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    skipMiddie: true,
    return503OnClosing: false,
    requestTimeout: 300_000,
    // The request's id is its correlation id (correlation.hook.ts).
    genReqId: requestIdOf,
    frameworkErrors: answerFrameworkError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
  });
}

/**
 * With API_PROCESSES > 1 this process forks that many API processes sharing the port (node:cluster), so
 * the HTTP work spreads over the cores; it forwards SIGTERM/SIGINT to them and exits when they have.
 */
function supervise(processes: number): void {
  const env = validateEnvironment(process.env);
  const logger = createAppLogger('api', { level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  // Generate development secrets once, before the children read them.
  const { secrets, generated } = resolveSecrets(env);
  announceGeneratedSecrets((m) => logger.warn(m, 'Bootstrap'), generated, secrets);
  let stopping = false;
  // The processes share the port, the primary listens on none: a scrape of /metrics asks it for every process's figures.
  answerMetricsAsks();
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.log('api stopped', 'Shutdown');
        process.exit(0);
      }
      return;
    }
    logger.error(`API process ${worker.process.pid} exited (${signal ?? code}); starting another`, undefined, 'Supervisor');
    cluster.fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    logger.log(`${signal} received, stopping ${processes} API processes`, 'Shutdown');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const processes = Number(process.env['API_PROCESSES'] ?? 1);
if (cluster.isPrimary && processes > 1) {
  try {
    supervise(processes);
  } catch (error) {
    exitOnBootFailure('api', error);
  }
} else {
  bootstrap().catch((error: unknown) => exitOnBootFailure('api', error));
}
