import { Controller, Get, Inject, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DependencyState, Environment } from '@audience-bridge/config';
import { Database } from '@audience-bridge/persistence';
import { ListSyncProducer, REDIS_STATE } from '@audience-bridge/queue';

/**
 * Health for load balancers and orchestrators. Public, so it says only up or down per dependency
 * (`"message": "redis: down"`): never a host, a port or an error text. The reason is in the log,
 * once per change (see `DependencyState`).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly databaseState: DependencyState;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: Database,
    private readonly producer: ListSyncProducer,
    @Inject(REDIS_STATE) private readonly redisState: DependencyState,
    env: Environment,
  ) {
    this.databaseState = new DependencyState('database', env.DATABASE_URL, new Logger('Dependencies'));
  }

  /** Liveness: the process answers HTTP. It checks no dependency, so a database outage never restarts it. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: the database and Redis answer within 2 s (503 naming the failing one otherwise). */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.probe('database', this.databaseState, () => this.db.query('SELECT 1')),
        () => this.probe('redis', this.redisState, () => this.producer.ping()),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // The answer is `{"statusCode": 503, "message": "redis: down"}`: which check, nothing about where or why.
      const failing = Object.keys((error.getResponse() as HealthCheckResult).error ?? {});
      throw new ServiceUnavailableException(failing.map((name) => `${name}: down`).join(', ') || 'not ready');
    }
  }

  private async probe(name: 'database' | 'redis', state: DependencyState, check: () => Promise<unknown>) {
    const indicator = this.indicators.check(name);
    try {
      await withTimeout(check(), 2000);
      state.up();
      return indicator.up();
    } catch (error) {
      state.down(error);
      return indicator.down();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), ms).unref()),
  ]);
}
