import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Environment } from '@audience-bridge/config';
import type { Account, MembershipAction } from '@audience-bridge/domain';
import { BulkListResult, IterableError, LimiterWaitTimeoutError, isIterableError, retryDelayMs } from '@audience-bridge/iterable-client';
import { MAX_SUBSCRIBERS_PER_CALL, batchSubscribers } from '@audience-bridge/mapping';
import {
  AccountsRepository,
  AudienceConnectionsRepository,
  CallRecord,
  DeliveryRepository,
  ListLeasesRepository,
  PendingChange,
  VerdictRecord,
} from '@audience-bridge/persistence';
import { WorkerMetrics } from '../metrics/worker-metrics.service';
import { IterableClientsService } from './iterable-clients.service';

/**
 * How a list's delivery ended: all sent, another worker holds the list, waiting for a resume, retry later,
 * or this process is shutting down (the rest is left pending for the sweepers).
 */
export type SyncResult = { kind: 'done' } | { kind: 'busy' } | { kind: 'suspended' } | { kind: 'retry'; inMs: number } | { kind: 'stopped' };


interface Subscriber {
  email: string;
  userId?: string;
}

type Delivery = Pick<Account, 'accountId' | 'iterableApiKey' | 'dataCenter' | 'dryRun'>;

/**
 * Delivers one Iterable list's pending changes: under a lease (one writer per list across every worker),
 * in batches of up to 1000 subscribers (< 4 MB) per action, recording every call and every user's verdict.
 * Transient errors schedule a retry with backoff (Retry-After honoured); a bad key suspends the account
 * and an unknown list suspends its connections: their changes wait for a resume.
 */
@Injectable()
export class ListDeliveryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ListDeliveryService.name);
  /** This process, in lease holder ids; each delivery adds its own suffix (two jobs of one process are two writers too). */
  private readonly processId = `${hostname()}:${process.pid}`;
  private stopping = false;

  constructor(
    private readonly env: Environment,
    private readonly leases: ListLeasesRepository,
    private readonly delivery: DeliveryRepository,
    private readonly accounts: AccountsRepository,
    private readonly connections: AudienceConnectionsRepository,
    private readonly clients: IterableClientsService,
    private readonly metrics: WorkerMetrics,
  ) {}

  /** On SIGTERM: finish the batch in flight, start no other (before the queue waits for active jobs). */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  async syncList(accountId: number, listId: number): Promise<SyncResult> {
    const ttl = this.env.LIST_LEASE_TTL_MS;
    const holder = `${this.processId}:${randomUUID().slice(0, 8)}`;
    if (!(await this.leases.acquire(accountId, listId, holder, ttl))) return { kind: 'busy' };
    // Renewed in the background at a third of its life, whatever the delivery is waiting on (the rate
    // limiter, a slow Iterable); if a renewal fails the lease may be someone else's: no further call goes out.
    const lease = { held: true };
    const renewal = setInterval(() => {
      this.leases.renew(accountId, listId, holder, ttl).then(
        (ok) => (lease.held &&= ok),
        () => (lease.held = false),
      );
    }, ttl / 3);
    try {
      for (;;) {
        if (this.stopping) return { kind: 'stopped' };
        if (!lease.held) return { kind: 'busy' };
        const account = await this.deliverable(accountId, listId);
        if (!account) return { kind: 'suspended' };
        await this.delivery.skipRemovedAudiences(accountId, listId);
        let found = 0;
        for (const action of ['add', 'delete'] as const) {
          const changes = await this.delivery.pending(accountId, listId, action, MAX_SUBSCRIBERS_PER_CALL);
          found += changes.length;
          if (changes.length === 0) continue;
          const result = await this.deliver(account, listId, action, changes, lease);
          if (result.kind !== 'done') return result;
        }
        if (found === 0) return { kind: 'done' };
      }
    } finally {
      clearInterval(renewal);
      await this.leases.release(accountId, listId, holder);
    }
  }

  /** The account, if its changes for this list may go out now; otherwise undefined (they wait). */
  private async deliverable(accountId: number, listId: number): Promise<Delivery | undefined> {
    const account = await this.accounts.findForDelivery(accountId);
    if (!account || account.status === 'suspended') return undefined;
    if (!account.iterableApiKey) {
      await this.accounts.suspend(accountId, 'no API key: set one with PUT /v1/accounts/:id, then resume');
      return undefined;
    }
    if (await this.connections.isListSuspended(accountId, listId)) return undefined;
    return account;
  }

  /** Sends the changes (one per user identity), in as many calls as the size limits need. */
  private async deliver(account: Delivery, listId: number, action: MembershipAction, changes: PendingChange[], lease: { held: boolean }): Promise<SyncResult> {
    const byIdentity = new Map<string, { subscriber: Subscriber; changes: PendingChange[] }>();
    for (const change of changes) {
      const key = `${change.email}\u0000${change.userId ?? ''}`;
      const entry = byIdentity.get(key) ?? { subscriber: change.userId ? { email: change.email, userId: change.userId } : { email: change.email }, changes: [] };
      entry.changes.push(change);
      byIdentity.set(key, entry);
    }
    const changesOf = new Map([...byIdentity.values()].map((e) => [e.subscriber, e.changes]));
    const { batches, oversized } = batchSubscribers(listId, [...changesOf.keys()]);
    if (oversized.length > 0) {
      const tooLarge = oversized.flatMap((s) => changesOf.get(s) ?? []);
      await this.record(account, listId, action, { httpStatus: null, durationMs: 0, error: 'subscriber larger than 4 MB' }, this.verdicts(tooLarge, 'failed', 'too large', { state: 'failed', reason: 'too large' }));
    }
    for (const batch of batches) {
      const result = await this.send(account, listId, action, batch, changesOf, lease);
      if (result.kind !== 'done') return result;
    }
    return { kind: 'done' };
  }

  private async send(
    account: Delivery,
    listId: number,
    action: MembershipAction,
    batch: Subscriber[],
    changesOf: Map<Subscriber, PendingChange[]>,
    lease: { held: boolean },
  ): Promise<SyncResult> {
    if (!lease.held) return { kind: 'busy' };
    const changes = batch.flatMap((s) => changesOf.get(s) ?? []);
    if (account.dryRun) {
      await this.record(account, listId, action, { httpStatus: null, durationMs: 0, error: null, dryRun: true, successCount: batch.length }, this.verdicts(changes, 'skipped', 'dry run', { state: 'skipped', reason: 'dry run' }));
      return { kind: 'done' };
    }
    const client = this.clients.clientFor(account);
    const started = performance.now();
    try {
      const result: BulkListResult<Subscriber> = action === 'add' ? await client.subscribe(listId, batch) : await client.unsubscribe(listId, batch);
      const durationMs = Math.round(performance.now() - started);
      // Iterable counted failures it named no one for: whoever it reported delivered is sent again (idempotent).
      const unsure = result.unattributedFailures > 0;
      const retryAt = Date.now() + retryDelayMs({ attempt: 1, baseMs: this.env.DELIVERY_RETRY_BASE_MS });
      const verdicts = result.verdicts.flatMap(({ subscriber, outcome }) =>
        (changesOf.get(subscriber) ?? []).map((change): VerdictRecord =>
          outcome.kind !== 'delivered'
            ? { change, outcome: 'failed', reason: outcome.reason, retryable: false, settlement: { state: 'failed', reason: outcome.reason } }
            : unsure
              ? { change, outcome: 'failed', reason: 'unattributed failure', retryable: true, settlement: { state: 'retry', reason: 'unattributed failure', nextAttemptAt: retryAt, maxAttempts: this.env.DELIVERY_MAX_ATTEMPTS } }
              : { change, outcome: 'delivered', reason: null, retryable: false, settlement: { state: 'delivered' } },
        ),
      );
      await this.record(account, listId, action, { httpStatus: 200, durationMs, error: null, successCount: result.successCount, failureCount: result.failCount }, verdicts);
      return { kind: 'done' };
    } catch (error) {
      // The shared limiter had no slot for longer than a third of the lease: nothing was sent; try later.
      if (error instanceof LimiterWaitTimeoutError) return { kind: 'retry', inMs: 1000 };
      if (!isIterableError(error)) throw error;
      return this.failed(account, listId, action, batch, changesOf, lease, changes, error, Math.round(performance.now() - started));
    }
  }

  private async failed(
    account: Delivery,
    listId: number,
    action: MembershipAction,
    batch: Subscriber[],
    changesOf: Map<Subscriber, PendingChange[]>,
    lease: { held: boolean },
    changes: PendingChange[],
    error: IterableError,
    durationMs: number,
  ): Promise<SyncResult> {
    const call = { httpStatus: error.status ?? null, durationMs, error: error.message };
    if (error.kind === 'split' && batch.length > 1) {
      await this.record(account, listId, action, { ...call, subscriberCount: batch.length }, []);
      const half = Math.ceil(batch.length / 2);
      for (const part of [batch.slice(0, half), batch.slice(half)]) {
        const result = await this.send(account, listId, action, part, changesOf, lease);
        if (result.kind !== 'done') return result;
      }
      return { kind: 'done' };
    }
    if (error.kind === 'retryable') {
      const attempt = Math.max(...changes.map((c) => c.attempts)) + 1;
      const inMs = retryDelayMs({ attempt, baseMs: this.env.DELIVERY_RETRY_BASE_MS, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
      this.logger.warn(`list ${listId} of account ${account.accountId}: ${error.message}; retry ${attempt} in ${inMs} ms`);
      await this.record(account, listId, action, call, this.verdicts(changes, 'failed', error.reason, { state: 'retry', reason: error.reason, nextAttemptAt: Date.now() + inMs, maxAttempts: this.env.DELIVERY_MAX_ATTEMPTS }, true));
      return { kind: 'retry', inMs };
    }
    if (error.reason === 'bad api key' || error.reason === 'unknown list') {
      const why = `${error.reason}: ${error.message}`;
      if (error.reason === 'bad api key') await this.accounts.suspend(account.accountId, why);
      else await this.connections.suspendList(account.accountId, listId, why);
      this.logger.error(`list ${listId} of account ${account.accountId} suspended (${error.reason}); its changes wait for a resume`);
      await this.record(account, listId, action, call, this.verdicts(changes, 'failed', error.reason, { state: 'waiting', reason: error.reason }));
      return { kind: 'suspended' };
    }
    await this.record(account, listId, action, call, this.verdicts(changes, 'failed', error.reason, { state: 'failed', reason: error.reason }));
    return { kind: 'done' };
  }

  private verdicts(changes: PendingChange[], outcome: VerdictRecord['outcome'], reason: string, settlement: VerdictRecord['settlement'], retryable = false): VerdictRecord[] {
    return changes.map((change) => ({ change, outcome, reason, retryable, settlement }));
  }

  private async record(
    account: Delivery,
    listId: number,
    action: MembershipAction,
    call: { httpStatus: number | null; durationMs: number; error: string | null; dryRun?: boolean; subscriberCount?: number; successCount?: number | undefined; failureCount?: number | undefined },
    verdicts: VerdictRecord[],
  ): Promise<void> {
    const iterableAction: CallRecord['action'] = action === 'add' ? 'subscribe' : 'unsubscribe';
    const subscriberCount = call.subscriberCount ?? new Set(verdicts.map((v) => `${v.change.email}\u0000${v.change.userId ?? ''}`)).size;
    const delivered = verdicts.filter((v) => v.outcome === 'delivered').length;
    await this.delivery.record(
      {
        id: randomUUID(),
        accountId: account.accountId,
        listId,
        action: iterableAction,
        subscriberCount,
        httpStatus: call.httpStatus,
        successCount: call.successCount ?? delivered,
        failureCount: call.failureCount ?? verdicts.length - delivered,
        durationMs: call.durationMs,
        error: call.error,
        dryRun: call.dryRun ?? false,
        createdAtMs: Date.now(),
      },
      verdicts,
    );
    const status = call.dryRun ? 'dry_run' : call.httpStatus === null ? 'error' : String(call.httpStatus);
    this.metrics.iterableCalls.inc({ action: iterableAction, status });
    if (call.httpStatus === 429) this.metrics.rateLimited.inc();
    if (!call.dryRun && call.httpStatus !== null) this.metrics.callDuration.observe({ action: iterableAction }, call.durationMs / 1000);
    if (subscriberCount > 0) this.metrics.batchSize.observe({ action: iterableAction }, subscriberCount);
    for (const v of verdicts) this.metrics.verdicts.inc({ outcome: v.outcome, reason: v.reason ?? '' });
  }
}
