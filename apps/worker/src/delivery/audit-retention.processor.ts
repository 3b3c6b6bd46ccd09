import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';
import { Environment } from '@audience-bridge/config';
import { AuditRepository } from '@audience-bridge/persistence';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES } from '@audience-bridge/queue';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Prunes delivery audit rows older than AUDIT_RETENTION_DAYS, daily: a repeatable Bull job (due at each UTC
 * midnight, one run across workers). Bull keeps the schedule in Redis and schedules the next run when one starts,
 * so Redis losing its data would end the pruning until a worker restarted; each worker therefore adds the
 * schedule again every RESCHEDULE_MS (a timer, like the sweeper's). Adding it again is idempotent: the next
 * run's job id is made of the schedule and its due time, so an existing one is not added twice.
 */
@Injectable()
export class AuditRetentionProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** An hour (a test shortens it). */
  static RESCHEDULE_MS = 60 * 60 * 1000;
  private readonly logger = new Logger(AuditRetentionProcessor.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
    private readonly env: Environment,
    private readonly audit: AuditRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    void this.queue.process(JOBS.pruneAudit, 1, () => this.prune());
    this.timer = setInterval(() => void this.schedule(), AuditRetentionProcessor.RESCHEDULE_MS);
    await this.schedule();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Makes sure the daily prune is scheduled in Redis; answers whether the add went through. */
  async schedule(): Promise<boolean> {
    try {
      await this.queue.add(JOBS.pruneAudit, {}, { ...DEFAULT_JOB_OPTIONS, repeat: { every: DAY_MS }, jobId: JOBS.pruneAudit });
      return true;
    } catch (error) {
      this.logger.warn(`scheduling the daily audit prune failed (tried again in an hour): ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  async prune(now = Date.now()): Promise<{ calls: number; verdicts: number; successes: number; messages: number }> {
    const pruned = await this.audit.prune(now - this.env.AUDIT_RETENTION_DAYS * DAY_MS);
    this.logger.log(
      `pruned audit older than ${this.env.AUDIT_RETENTION_DAYS} days: ${pruned.calls} calls, ${pruned.verdicts} verdicts, ` +
        `${pruned.successes} compact success rows, ${pruned.messages} message ids`,
    );
    return pruned;
  }
}
