import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { Environment, withCorrelationId } from '@audience-bridge/config';
import { DRIFT_CHECK_JOB, DRIFT_CHECK_QUEUE, DriftCheckJobData } from '@audience-bridge/queue';
import { DriftCheckService, DriftRunResult } from './drift-check.service';

/**
 * Takes drift checks off their own queue, DRIFT_CHECK_CONCURRENCY at a time per worker: list deliveries have
 * their queue and their concurrency to themselves, so a long check never holds one up.
 */
@Injectable()
export class DriftCheckProcessor implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(DRIFT_CHECK_QUEUE) private readonly queue: Queue<DriftCheckJobData>,
    private readonly env: Environment,
    private readonly checks: DriftCheckService,
  ) {}

  onApplicationBootstrap(): void {
    void this.queue.process(DRIFT_CHECK_JOB, this.env.DRIFT_CHECK_CONCURRENCY, (job: Job<DriftCheckJobData>) =>
      withCorrelationId(`drift-job:${String(job.id)}`, () => this.handle(job.data)),
    );
  }

  handle({ reportId }: DriftCheckJobData): Promise<DriftRunResult> {
    return this.checks.run(reportId);
  }
}
