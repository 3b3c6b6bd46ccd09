import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES, SYNC_LIST_DELAY_MS, SyncListJobData, syncListJobId } from './queue.constants';

/** Adds "sync list" signals. Used by the API after a commit, and by the worker's sweeper. */
@Injectable()
export class ListSyncProducer {
  private readonly logger = new Logger(ListSyncProducer.name);

  constructor(@InjectQueue(QUEUES.listSync) private readonly queue: Queue<SyncListJobData>) {}

  async enqueue(lists: SyncListJobData[], delayMs = SYNC_LIST_DELAY_MS): Promise<void> {
    await Promise.all(
      lists.map((data) => this.queue.add(JOBS.syncList, data, { ...DEFAULT_JOB_OPTIONS, jobId: syncListJobId(data), delay: delayMs })),
    );
    if (lists.length > 0) this.logger.debug(`enqueued ${lists.length} list sync job(s)`);
  }

  /** Waiting, delayed and active signals: the queue depth for health and metrics. */
  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts();
    return counts.waiting + counts.delayed + counts.active;
  }

  /** Resolves when Redis answers; rejects otherwise (readiness checks). */
  async ping(): Promise<void> {
    await this.queue.client.ping();
  }
}
