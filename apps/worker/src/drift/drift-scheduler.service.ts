import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import { DriftRepository } from '@audience-bridge/persistence';
import { DriftCheckProducer } from '@audience-bridge/queue';

/**
 * Every SWEEP_INTERVAL_MS, in each worker: starts the checks of accounts whose drift schedule is due (one
 * worker claims each run), and signals again every check asked for that no worker has taken for 5 s, or whose
 * worker stopped (its heartbeat is older than 2 minutes): Redis is only a signal here too, the database says
 * which checks are owed. A timer, not a Bull repeatable job, so it survives Redis losing its data.
 */
@Injectable()
export class DriftSchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DriftSchedulerService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly env: Environment,
    private readonly drift: DriftRepository,
    private readonly producer: DriftCheckProducer,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), Math.max(1000, this.env.SWEEP_INTERVAL_MS));
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: due schedules, then checks owed a signal. Answers how many checks it signalled. */
  async tick(now = Date.now()): Promise<number> {
    if (this.running) return 0;
    let signalled = 0;
    this.running = (async () => {
      try {
        for (const settings of await this.drift.dueSchedules(now)) {
          if (!(await this.drift.claimSchedule(settings.accountId, settings.lastScheduledAtMs, now))) continue;
          const lists = await this.drift.listsOf(settings.accountId);
          for (const listId of lists) {
            const { report, created } = await this.drift.request(
              {
                accountId: settings.accountId,
                listId,
                repair: settings.scheduleRepair,
                trigger: 'schedule',
                identifier: settings.identifier,
                repairExtras: settings.repairExtras,
              },
              now,
            );
            if (created) {
              await this.producer.enqueue({ reportId: report.id });
              signalled++;
            }
          }
          this.logger.log(
            `account ${settings.accountId}: scheduled drift checks of ${lists.length} list(s) ` +
              `(every ${settings.scheduleHours} h${settings.scheduleRepair ? ', repair' : ''})`,
          );
        }
        for (const reportId of await this.drift.orphans(now)) {
          await this.producer.enqueue({ reportId });
          signalled++;
        }
      } catch (error) {
        this.logger.warn(`drift schedule round failed (next in ${this.env.SWEEP_INTERVAL_MS} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
    await this.running;
    this.running = undefined;
    return signalled;
  }
}
