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
        () => this.probe('database', this.databaseState, () => this.databaseCheck()),
        () => this.probe('redis', this.redisState, () => this.producer.ping()),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // The answer is `{"statusCode": 503, "message": "redis: down"}`: which check, nothing about where or why.
      const failing = (error.getResponse() as HealthCheckResult).error ?? {};
      throw new ServiceUnavailableException(
        Object.entries(failing)
          .map(([name, detail]) => `${name}: ${(detail as { reason?: string }).reason ?? 'down'}`)
          .join(', ') || 'not ready',
      );
    }
  }

  /**
   * The database answers, and can take a write: while the last write storage refused (a failed COMMIT, a full
   * disk) has not been followed by one that committed, a write probe decides, so a process whose storage came
   * back is ready again without waiting for traffic.
   */
  private async databaseCheck(): Promise<void> {
    await this.db.query('SELECT 1');
    if (!this.db.cannotWrite()) return;
    try {
      await this.db.probeWrite();
    } catch (error) {
      throw Object.assign(new Error(`cannot write: ${error instanceof Error ? error.message : String(error)}`), { reason: 'cannot write' });
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
      const reason = (error as { reason?: unknown }).reason;
      return typeof reason === 'string' ? indicator.down({ reason }) : indicator.down();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), ms).unref()),
  ]);
}
