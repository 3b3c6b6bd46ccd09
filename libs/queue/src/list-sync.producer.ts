import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { clearOrphanedJob } from './orphaned-jobs';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES, SYNC_LIST_DELAY_MS, SyncListJobData, syncListJobId } from './queue.constants';

/** Adds "sync list" signals. Used by the API after a commit, and by the worker's sweeper. */
@Injectable()
export class ListSyncProducer {
  private readonly logger = new Logger(ListSyncProducer.name);

  /** When this process last added a delayed signal per job id: a signal added less than its delay ago still waits. */
  private readonly recent = new Map<string, number>();

  constructor(@InjectQueue(QUEUES.listSync) private readonly queue: Queue<SyncListJobData>) {}

  /**
   * Signals that these lists have pending changes. A list whose delayed signal this process itself created
   * less than half its delay ago is skipped without a Redis round trip: that job cannot have started yet,
   * so it will see the new changes. (Under load this saves one Redis script call per list per message.)
   */
  async enqueue(lists: SyncListJobData[], delayMs = SYNC_LIST_DELAY_MS): Promise<void> {
    const now = Date.now();
    const due = lists.filter((data) => {
      const added = this.recent.get(syncListJobId(data));
      return delayMs === 0 || added === undefined || now - added >= delayMs / 2;
    });
    await Promise.all(
      due.map(async (data) => {
        const jobId = syncListJobId(data);
        const job = await this.queue.add(JOBS.syncList, data, { ...DEFAULT_JOB_OPTIONS, jobId, delay: delayMs });
        // Remembered only when this add created the job: an existing one (maybe already running) proves nothing.
        if (delayMs > 0 && job.timestamp >= now) this.recent.set(jobId, now);
      }),
    );
    if (this.recent.size > 10_000) this.forgetOlderThan(now - delayMs);
    if (due.length > 0) this.logger.debug(`enqueued ${due.length} list sync job(s)`);
  }

  /**
   * A signal for a list from inside its own delivery (a retry after backoff, or changes that arrived at
   * the very end): the running job holds the list's usual job id, so this one gets its own.
   */
  async enqueueFollowUp(list: SyncListJobData, delayMs: number): Promise<void> {
    const jobId = `${syncListJobId(list)}:at:${Date.now() + delayMs}`;
    await this.queue.add(JOBS.syncList, list, { ...DEFAULT_JOB_OPTIONS, jobId, delay: delayMs });
  }

  /**
   * The sweeper's signals, one per list per sweep round (`round` is shared by every worker sweeping in the
   * same interval, so their rounds collapse into one job). A round id of its own: a list whose usual job
   * is stuck in a crashed worker still gets a signal now, not when Bull notices the stalled job.
   * It also frees a usual job id that a lost Redis key left orphaned (orphaned-jobs.ts): the API's signals
   * for that list would otherwise never make a job again, and the list would wait for every sweep.
   */
  async enqueueSweep(lists: SyncListJobData[], round: number): Promise<void> {
    await Promise.all(
      lists.map(async (list) => {
        await clearOrphanedJob(this.queue, syncListJobId(list));
        await this.queue.add(JOBS.syncList, list, { ...DEFAULT_JOB_OPTIONS, jobId: `${syncListJobId(list)}:sweep:${round}` });
      }),
    );
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [jobId, added] of this.recent) if (added < cutoff) this.recent.delete(jobId);
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
