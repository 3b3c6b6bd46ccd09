import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Environment } from '@audience-bridge/config';
import { IterableError, LimiterWaitTimeoutError, retryDelayMs } from '@audience-bridge/iterable-client';
import { AccountsRepository, ErasureRepository, PendingErasure, TOMBSTONE_CACHE_MS, untilWritten } from '@audience-bridge/persistence';
import { IterableClientsService } from '../delivery/iterable-clients.service';
import { WorkerMetrics } from '../metrics/worker-metrics.service';

/** How long one try holds a request before another worker may take it. */
const CLAIM_MS = 120_000;

/**
 * Carries out the data subject erasures ingest stored (README "Erasure"). Every SWEEP_INTERVAL_MS each
 * worker takes the due requests: once the subject's lists have settled (they were taken off their lists as
 * for a delete), it calls Iterable's `users/forget` for each email and userId, under forget's own rate
 * limit, then removes what delivery kept of them and the identifiers in the request. A transient failure
 * is tried again with backoff; nothing about the subject is logged.
 */
@Injectable()
export class ErasureService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ErasureService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly env: Environment,
    private readonly erasures: ErasureRepository,
    private readonly accounts: AccountsRepository,
    private readonly clients: IterableClientsService,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.env.SWEEP_INTERVAL_MS);
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Works through the due requests this worker can claim; answers how many completed. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    let completed = 0;
    this.running = (async () => {
      try {
        for (const erasure of await this.erasures.due(20)) {
          if (!(await this.erasures.claim(erasure.id, Date.now() + CLAIM_MS))) continue;
          try {
            if (await this.process(erasure)) completed++;
          } catch (error) {
            // A try that failed on the database (a restart, a full disk): the claim is given back with the
            // backoff once the database takes writes again, not held for CLAIM_MS (found by the model checker,
            // seed 117 PostgreSQL: the subject's forget waited two minutes). The error names no subject.
            await untilWritten(() => this.erasures.retryLater(erasure.id, 'the try failed: database unavailable', Date.now() + this.backoff(erasure)));
            throw error;
          }
        }
      } catch (error) {
        this.logger.warn(`erasure round failed (next in ${this.env.SWEEP_INTERVAL_MS} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
    await this.running;
    this.running = undefined;
    return completed;
  }

  private backoff(erasure: PendingErasure, retryAfterMs?: number): number {
    return retryDelayMs({
      attempt: erasure.attempts + 1,
      baseMs: this.env.DELIVERY_RETRY_BASE_MS,
      maxMs: this.env.DELIVERY_RETRY_MAX_MS,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  private async process(erasure: PendingErasure): Promise<boolean> {
    const later = (why: string, delayMs: number) => this.erasures.retryLater(erasure.id, why, Date.now() + delayMs);
    const backoff = (retryAfterMs?: number) => this.backoff(erasure, retryAfterMs);

    // An API process that had not seen the tombstone yet may have stored a change stamped before the erasure:
    // wait until every process has (TOMBSTONE_CACHE_MS), then remove such changes again and re-plan their lists.
    const tombstoneSeenByAll = erasure.receivedAtMs + 2 * TOMBSTONE_CACHE_MS;
    if (Date.now() < tombstoneSeenByAll) {
      await later('waiting until every API process drops older changes of the subject', tombstoneSeenByAll - Date.now());
      return false;
    }
    if ((await this.erasures.purgeLate(erasure)) > 0) {
      await later('older changes of the subject stored meanwhile were removed; their lists re-plan', this.env.SWEEP_INTERVAL_MS);
      return false;
    }
    // Taken off their lists first, as for any delete: forgetting them before would leave them on the lists.
    if (await this.erasures.inFlight(erasure.accountId, erasure.subject)) {
      await later("waiting for the subject's lists to settle", this.env.SWEEP_INTERVAL_MS);
      return false;
    }
    const account = await this.accounts.findForDelivery(erasure.accountId);
    let calls = 0;
    if (account?.iterableApiKey && !account.dryRun) {
      const client = this.clients.forgetClientFor(account);
      const users = [...erasure.subject.emails.map((email) => ({ email })), ...erasure.subject.userIds.map((userId) => ({ userId }))];
      for (const user of users) {
        try {
          await client.forgetUser(user);
          calls++;
        } catch (error) {
          if (error instanceof LimiterWaitTimeoutError || (error instanceof IterableError && (error.retryable || error.reason === 'bad api key'))) {
            const reason = error instanceof IterableError ? error.reason : 'rate limiter wait';
            await later(`users/forget: ${reason}`, backoff(error instanceof IterableError ? error.retryAfterMs : undefined));
            return false;
          }
          // Refused for this identifier (not a user of the project, say): nothing of theirs to forget there.
          if (!(error instanceof IterableError)) throw error;
        }
      }
    } else if (!account?.iterableApiKey) {
      await later('the account has no Iterable API key yet', backoff());
      return false;
    }
    await this.erasures.complete(erasure.id, erasure.accountId, erasure.subject, calls);
    this.metrics.erasures.inc({ what: 'completed' });
    this.metrics.erasures.inc({ what: 'forget_calls' }, calls);
    this.logger.log(
      `erasure ${erasure.id} of account ${erasure.accountId} done: ${calls} users/forget call(s), ` +
        `${Date.now() - erasure.receivedAtMs} ms after it was received`,
    );
    return true;
  }
}
