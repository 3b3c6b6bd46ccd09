import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';
import { Environment } from '@audience-bridge/config';
import { AuditRepository } from '@audience-bridge/persistence';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES } from '@audience-bridge/queue';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Prunes delivery audit rows older than AUDIT_RETENTION_DAYS, daily (a repeatable Bull job: one run per day across workers). */
@Injectable()
export class AuditRetentionProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuditRetentionProcessor.name);

  constructor(
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
    private readonly env: Environment,
    private readonly audit: AuditRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    void this.queue.process(JOBS.pruneAudit, 1, () => this.prune());
    await this.queue.add(JOBS.pruneAudit, {}, { ...DEFAULT_JOB_OPTIONS, repeat: { every: DAY_MS }, jobId: JOBS.pruneAudit });
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
