import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import { DeliveryRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';

/**
 * The safety net of "durable before acknowledged": every SWEEP_INTERVAL_MS, re-enqueue every list with
 * pending changes that are due (and fold the counts PostgreSQL appended since: members and messages, list-member-counts.ts
 * and message-counts.ts).
 * Redis is only a signal; if it lost its data (or a signal was lost on the
 * way), the database still says what is pending, and this puts it back on the queue. A timer in each
 * worker process, not a Bull repeatable job, so it survives Redis losing its data too.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly env: Environment,
    private readonly deliveries: DeliveryRepository,
    private readonly producer: ListSyncProducer,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.env.SWEEP_INTERVAL_MS);
    void this.sweep();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Enqueues every list with inbox rows (and no backoff running) or a recheck due; answers how many lists. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    let count = 0;
    this.running = (async () => {
      try {
        const lists = (await this.deliveries.dueLists()).map((listId) => ({ listId }));
        await this.producer.enqueueSweep(lists, Math.floor(Date.now() / this.env.SWEEP_INTERVAL_MS));
        count = lists.length;
        if (count > 0) this.logger.debug(`swept ${count} list(s) with pending changes`);
      } catch (error) {
        this.logger.warn(`sweep failed (next in ${this.env.SWEEP_INTERVAL_MS} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
      try {
        await this.deliveries.foldCounts();
      } catch (error) {
        this.logger.warn(`folding kept counts failed (next in ${this.env.SWEEP_INTERVAL_MS} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
    await this.running;
    this.running = undefined;
    return count;
  }
}
