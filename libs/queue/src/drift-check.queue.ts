import { BullModule, InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, Module } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { clearOrphanedJob } from './orphaned-jobs';

/** Drift checks have a queue of their own: a check takes minutes for a large list and must never hold up a list's delivery. */
export const DRIFT_CHECK_QUEUE = 'drift-check';
export const DRIFT_CHECK_JOB = 'drift-check';

/** The check to run: a `drift_reports` row in state running (the work is in the database; the job is a signal). */
export interface DriftCheckJobData {
  reportId: number;
}

/** One job per report: a signal repeated while one waits is the same job. A failed job is not retried by Bull: the worker's drift sweeper signals again. */
export const DRIFT_CHECK_JOB_OPTIONS: JobOptions = { attempts: 1, removeOnComplete: true, removeOnFail: true };

export const driftCheckJobId = ({ reportId }: DriftCheckJobData): string => `drift-check:${reportId}`;

/** Signals drift checks (the API after recording a request; the worker's sweeper and schedule). */
@Injectable()
export class DriftCheckProducer {
  private readonly logger = new Logger(DriftCheckProducer.name);

  constructor(@InjectQueue(DRIFT_CHECK_QUEUE) private readonly queue: Queue<DriftCheckJobData>) {}

  /** Frees the report's job id first if a lost Redis key left it orphaned (orphaned-jobs.ts), so the signal is a job. */
  async enqueue(data: DriftCheckJobData): Promise<void> {
    await clearOrphanedJob(this.queue, driftCheckJobId(data));
    await this.queue.add(DRIFT_CHECK_JOB, data, { ...DRIFT_CHECK_JOB_OPTIONS, jobId: driftCheckJobId(data) });
    this.logger.debug(`drift check ${data.reportId} signalled`);
  }
}

/** The drift check queue (on the connection and prefix of QueueModule.forRoot) and its producer. */
@Module({})
export class DriftQueueModule {
  static register() {
    const queue = BullModule.registerQueue({ name: DRIFT_CHECK_QUEUE });
    return { module: DriftQueueModule, imports: [queue], providers: [DriftCheckProducer], exports: [queue, DriftCheckProducer] };
  }
}
