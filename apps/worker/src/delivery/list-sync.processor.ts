import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { Environment, withCorrelationId } from '@audience-bridge/config';
import { DeliveryRepository } from '@audience-bridge/persistence';
import { JOBS, ListSyncProducer, QUEUES, SyncListJobData } from '@audience-bridge/queue';
import { ListDeliveryService } from './list-delivery.service';

/**
 * Takes "sync list" signals off the queue, WORKER_CONCURRENCY lists at a time, and delivers each list.
 * After a list is done it looks once more: a change that arrived while the job was finishing gets a
 * follow-up signal (the running job's id would swallow an ordinary one).
 */
@Injectable()
export class ListSyncProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(ListSyncProcessor.name);

  constructor(
    @InjectQueue(QUEUES.listSync) private readonly queue: Queue<SyncListJobData>,
    private readonly env: Environment,
    private readonly delivery: ListDeliveryService,
    private readonly deliveries: DeliveryRepository,
    private readonly producer: ListSyncProducer,
  ) {}

  onApplicationBootstrap(): void {
    void this.queue.process(JOBS.syncList, this.env.WORKER_CONCURRENCY, (job: Job<SyncListJobData>) =>
      withCorrelationId(`job:${String(job.id)}`, () => this.handle(job.data)),
    );
  }

  async handle({ listId }: SyncListJobData): Promise<string> {
    const result = await this.delivery.syncList(listId);
    if (result.kind === 'retry') {
      await this.producer.enqueueFollowUp({ listId }, result.inMs);
    } else if (result.kind === 'done' && (await this.deliveries.hasDue(listId))) {
      await this.producer.enqueueFollowUp({ listId }, 0);
    }
    this.logger.debug(`list ${listId}: ${result.kind}`);
    return result.kind;
  }
}
