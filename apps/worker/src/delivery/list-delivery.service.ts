import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Environment } from '@audience-bridge/config';
import type { Account, Subscriber } from '@audience-bridge/domain';
import { IterableClient, LimiterWaitTimeoutError, isIterableError, retryDelayMs, verdictReason } from '@audience-bridge/iterable-client';
import {
  CallOutcome,
  DRIFT_REPAIR_REASON,
  KnownMember,
  ListAction,
  MAX_SUBSCRIBERS_PER_CALL,
  MemberContribution,
  MemberPlan,
  MemberSettlement,
  batchBySize,
  describeCallError,
  envelopeBytes,
  planMember,
  settleCall,
} from '@audience-bridge/mapping';
import {
  AccountsRepository,
  AudienceConnectionsRepository,
  DeliveryRepository,
  InboxEntry,
  ListLease,
  ListLeasesRepository,
  MemberWrite,
  SENT_BY_USER_ID,
  VerdictRecord,
} from '@audience-bridge/persistence';
import { SYNC_LIST_DELAY_MS } from '@audience-bridge/queue';
import { WorkerMetrics } from '../metrics/worker-metrics.service';
import { IterableClientsService } from './iterable-clients.service';

/**
 * How a list's delivery ended: all sent, another worker holds the list, waiting for an operator, retry
 * later, or this process is shutting down (the rest stays in the inbox for the sweepers).
 */
export type SyncResult = { kind: 'done' } | { kind: 'busy' } | { kind: 'suspended' } | { kind: 'retry'; inMs: number } | { kind: 'stopped' };

/** One member of the list to send in a call: who Iterable should see, why, and the inbox rows it answers. */
interface Item {
  memberKey: string;
  subscriber: Subscriber;
  source: MemberContribution | undefined;
  inboxIds: number[];
  /** Sent by the userId alone, after Iterable found that userId on a user with another email (or known by no email: a drift repair). */
  byUserIdOnly?: boolean;
  /** Why this member goes out, when it is not a change from mParticle: a drift repair (its verdict's reason). */
  note?: string;
}

/** Everything one delivery of one list carries from call to call. */
interface ListRun {
  listId: number;
  lease: ListLease & { attempts: number; failingSince: number | null };
  account: Pick<Account, 'accountId' | 'iterableApiKey' | 'dataCenter' | 'dryRun'>;
  client: IterableClient;
}

/** What the audit columns hold: `delivery_verdicts.reason` is varchar(32), `list_members.reason` varchar(64). */
const VERDICT_REASON_CHARS = 32;
const MEMBER_REASON_CHARS = 64;
/** A reason cut to `chars` (an Iterable array name can be longer than our own reasons). */
const clipReason = (reason: string | null, chars: number): string | null =>
  reason !== null && reason.length > chars ? `${reason.slice(0, chars - 1)}…` : reason;

/** Thrown by the fencing check right before a call: the list is no longer ours, nothing was sent. */
class FenceLostError extends Error {
  constructor(listId: number) {
    super(`list ${listId}: lease lost before the call`);
  }
}

/**
 * Brings one Iterable list to the newest desired state. Under a fenced lease (one writer per list across
 * every worker and every account), it reads the list's oldest inbox rows, plans each named member from the
 * desired state (`planMember`), sends the removals and then the additions in batches of up to 1000
 * (< 4 MB), and settles each call (`settleCall`) in one transaction: the call, each user's verdict, the
 * members' new state, the inbox rows done with. Transient failures back the list off and retry, without
 * giving up for DELIVERY_MAX_AGE_HOURS; an answer never seen leaves its members unknown, re-sent now and
 * once more after the late-apply window.
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

  /** On SIGTERM: finish the call in flight, start no other (before the queue waits for active jobs). */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  async syncList(listId: number): Promise<SyncResult> {
    const ttl = this.env.LIST_LEASE_TTL_MS;
    const lease = await this.leases.acquire(listId, `${this.processId}:${randomUUID().slice(0, 8)}`, ttl);
    if (!lease) return { kind: 'busy' };
    // Renewed in the background while the delivery waits on anything; every call is fenced on its own anyway.
    let held = true;
    const renewal = setInterval(() => {
      this.leases.fence(lease, ttl).then(
        (ok) => (held &&= ok),
        () => (held = false),
      );
    }, ttl / 3);
    try {
      // The previous holder died during a call: what it sent may or may not have landed.
      if (lease.inFlight) {
        this.logger.warn(`list ${listId}: taken over from a delivery that died during a call; its ${lease.inFlight.length} member(s) are sent again`);
        await this.delivery.recoverInFlight(lease, ttl, lease.inFlight, Date.now() + this.env.ITERABLE_LATE_APPLY_WINDOW_MS);
      }
      const waitMs = lease.nextAttemptAt === null ? 0 : lease.nextAttemptAt - Date.now();
      if (waitMs > 0) return { kind: 'retry', inMs: waitMs };
      await this.delivery.releaseRechecks(listId);
      // Every row a finished round read is settled (deleted), so the next round reads past it. The run ends
      // only when a read from the start finds nothing: a row whose transaction committed late, with a
      // smaller id than one already read, is still found.
      let after = 0;
      let shortRound = false;
      for (;;) {
        if (this.stopping) return { kind: 'stopped' };
        if (!held) return { kind: 'busy' };
        const run = await this.prepare(listId, lease);
        if (!run) {
          if (await this.settleUnowned(listId, lease)) continue;
          return { kind: 'suspended' };
        }
        let entries = await this.delivery.inbox(listId, MAX_SUBSCRIBERS_PER_CALL, { after });
        if (entries.length === 0 && after > 0) {
          after = 0;
          entries = await this.delivery.inbox(listId, MAX_SUBSCRIBERS_PER_CALL);
        }
        if (entries.length === 0) return { kind: 'done' };
        // Changes trickling in behind a round short of a full batch wait as a new signal would
        // (SYNC_LIST_DELAY_MS) and are read again: users who change again and again fold into fuller rounds
        // instead of a round per message. A full batch, or the end of the list's changes, never waits.
        if (shortRound && distinctMembers(entries) < MAX_SUBSCRIBERS_PER_CALL) {
          await sleep(SYNC_LIST_DELAY_MS);
          entries = await this.delivery.inbox(listId, MAX_SUBSCRIBERS_PER_CALL, { after });
        }
        const wholeList = entries.filter((e) => e.email === null);
        if (wholeList.length > 0) {
          await this.delivery.expandWholeList(listId, wholeList);
          continue;
        }
        const result = await this.round(run, entries);
        if (result.kind !== 'done') return result;
        after = entries[entries.length - 1]?.id ?? after;
        shortRound = distinctMembers(entries) < MAX_SUBSCRIBERS_PER_CALL;
      }
    } finally {
      clearInterval(renewal);
      await this.leases.release(lease).catch((error: unknown) => this.logger.warn(`list ${listId}: lease release failed: ${String(error)}`));
    }
  }

  /** The account whose key delivers the list now, or undefined when nothing of it may go out (suspended). */
  private async prepare(listId: number, lease: ListRun['lease']): Promise<ListRun | undefined> {
    const owner = await this.delivery.owner(listId);
    if (!owner || owner.listSuspended) return undefined;
    const account = await this.accounts.findForDelivery(owner.accountId);
    if (!account || account.status === 'suspended') return undefined;
    if (!account.iterableApiKey) {
      await this.accounts.suspend(account.accountId, 'no API key: set one with PUT /v1/accounts/:id, then resume');
      return undefined;
    }
    return { listId, lease, account, client: this.clients.clientFor(account) };
  }

  /**
   * A list no audience feeds and no account ever delivered (an audience moved to another list, or removed,
   * before its first delivery): nothing of it can be sent, but rows that need no call (whole-list rows, and
   * members Iterable does not have and nobody adds) are settled, so they are not pending for ever. Answers
   * whether it settled any (the run then reads again); rows that would need a call stay, held for a key.
   */
  private async settleUnowned(listId: number, lease: ListRun['lease']): Promise<boolean> {
    if (await this.delivery.owner(listId)) return false;
    const entries = await this.delivery.inbox(listId, MAX_SUBSCRIBERS_PER_CALL);
    const wholeList = entries.filter((e) => e.email === null);
    if (wholeList.length > 0) {
      await this.delivery.expandWholeList(listId, wholeList);
      return true;
    }
    const settled = [...(await this.planEntries(listId, entries)).values()].flatMap((m) => (m.plan.kind === 'settled' ? m.ids : []));
    if (settled.length === 0) return false;
    this.logger.log(`list ${listId}: no audience feeds it and no account delivered it; ${settled.length} change(s) that need no call settled`);
    return this.delivery.settle(lease, this.env.LIST_LEASE_TTL_MS, { verdicts: [], members: [], doneInboxIds: settled }, null);
  }

  /** What each member the inbox rows name needs, from every audience mapped to the list and what Iterable has, with its rows. */
  private async planEntries(listId: number, entries: InboxEntry[]): Promise<Map<string, { plan: MemberPlan; ids: number[]; known: KnownMember | undefined }>> {
    const inboxIds = new Map<string, number[]>();
    for (const e of entries) if (e.email !== null) inboxIds.set(e.email, [...(inboxIds.get(e.email) ?? []), e.id]);
    const emails = [...inboxIds.keys()];
    const contributions = await this.delivery.contributions(listId, emails);
    const known = await this.delivery.known(listId, emails);
    const byMember = new Map<string, MemberContribution[]>();
    for (const c of contributions) byMember.set(c.memberKey, [...(byMember.get(c.memberKey) ?? []), c]);
    return new Map(
      emails.map((memberKey) => [
        memberKey,
        { plan: planMember(byMember.get(memberKey) ?? [], known.get(memberKey)), ids: inboxIds.get(memberKey) ?? [], known: known.get(memberKey) },
      ]),
    );
  }

  /** One round: plan every member the inbox rows name, settle what needs no call, send removals then additions. */
  private async round(run: ListRun, entries: InboxEntry[]): Promise<SyncResult> {
    const sends = { unsubscribe: [] as Item[], subscribe: [] as Item[] };
    const settledIds: number[] = [];
    for (const [memberKey, { plan, ids, known: knownMember }] of await this.planEntries(run.listId, entries)) {
      if (plan.kind === 'settled') settledIds.push(...ids);
      else {
        // A drift check marked it (unknown, "drift repair"): its call says so in the audit. A member known by a userId alone goes by it.
        const note = knownMember?.reason === DRIFT_REPAIR_REASON ? DRIFT_REPAIR_REASON : undefined;
        const byUserIdOnly = plan.subscriber.email === '' && plan.subscriber.userId !== undefined;
        sends[plan.kind].push({
          memberKey,
          subscriber: plan.subscriber,
          source: plan.source,
          inboxIds: ids,
          ...(note ? { note } : {}),
          ...(byUserIdOnly ? { byUserIdOnly } : {}),
        });
      }
    }
    // Members Iterable already has as the newest state asks: their inbox rows are done with, no call.
    if (
      settledIds.length > 0 &&
      !(await this.delivery.settle(run.lease, this.env.LIST_LEASE_TTL_MS, { verdicts: [], members: [], doneInboxIds: settledIds }, run.account.accountId))
    ) {
      return { kind: 'busy' };
    }
    // Removals first: when a member's identity changed, the old one leaves before the new one arrives.
    for (const action of ['unsubscribe', 'subscribe'] as const) {
      // Sized by what goes on the wire: the subscriber alone.
      const { batches, oversized } = batchBySize(sends[action], (item) => Buffer.byteLength(JSON.stringify(item.subscriber)), envelopeBytes(run.listId));
      if (oversized.length > 0) {
        const settled = await this.settle(
          run,
          action,
          oversized,
          { kind: 'error', errorKind: 'permanent', reason: 'too large', unknownOutcome: false },
          0,
          null,
        );
        if (settled.kind !== 'done') return settled;
      }
      for (const batch of batches) {
        const result = await this.send(run, action, batch);
        if (result.kind !== 'done') return result;
      }
    }
    return { kind: 'done' };
  }

  /** One Iterable call for a batch of members, fenced before it waits for the rate limiter, then settled. */
  private async send(run: ListRun, action: 'subscribe' | 'unsubscribe', items: Item[]): Promise<SyncResult> {
    if (this.stopping) return { kind: 'stopped' };
    if (run.account.dryRun) return this.dryRun(run, action, items);
    const subscribers = items.map((i) => (i.byUserIdOnly && i.subscriber.userId ? { userId: i.subscriber.userId } : i.subscriber));
    // The fencing check before the call: still ours (the lease extended from now)? And the call's members are
    // written down, so whoever takes the list after a crash knows their outcome is unknown. It commits before the
    // wait for the shared rate limiter, not between its grant and the call: a call held back by a slow commit
    // reaches Iterable close behind the next one, which it counts as a burst (429, and every list of the key
    // pauses). After the grant it is done again only if the wait took more than a third of the lease (the limiter
    // gives up at a third, so with the defaults never): no other delivery can take the list before it expires.
    const ttl = this.env.LIST_LEASE_TTL_MS;
    const fence = async (inFlight: string[] | null): Promise<number> => {
      const at = Date.now();
      if (!(await this.leases.fence(run.lease, ttl, undefined, at, inFlight, run.account.accountId))) throw new FenceLostError(run.listId);
      return at;
    };
    const memberKeys = items.map((i) => i.memberKey);
    let fencedAt: number;
    try {
      fencedAt = await fence(memberKeys);
    } catch (error) {
      if (error instanceof FenceLostError) return { kind: 'busy' };
      throw error;
    }
    const beforeSend = async () => {
      if (Date.now() - fencedAt > ttl / 3) fencedAt = await fence(memberKeys);
    };
    const started = performance.now();
    let outcome: CallOutcome;
    let httpStatus: number | null = 200;
    try {
      const result =
        action === 'subscribe'
          ? await run.client.subscribe(run.listId, subscribers, { beforeSend })
          : await run.client.unsubscribe(run.listId, subscribers, { beforeSend });
      outcome = {
        kind: 'answered',
        verdicts: result.verdicts.map((v) =>
          v.outcome.kind === 'delivered' ? { kind: 'delivered' as const } : { kind: 'failed' as const, reason: verdictReason(v) ?? v.outcome.reason },
        ),
        unattributedFailures: result.unattributedFailures,
      };
    } catch (error) {
      if (error instanceof FenceLostError) return { kind: 'busy' };
      // The shared limiter had no slot for longer than a third of the lease: nothing was sent (so nothing is in
      // flight); try later.
      if (error instanceof LimiterWaitTimeoutError) {
        await fence(null).catch(() => undefined);
        return { kind: 'retry', inMs: 1000 };
      }
      if (!isIterableError(error)) throw error;
      httpStatus = error.status ?? null;
      outcome = {
        kind: 'error',
        errorKind: error.kind,
        reason: error.reason,
        unknownOutcome: error.unknownOutcome,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        ...(error.retryAfterAskedMs === undefined ? {} : { retryAfterAskedMs: error.retryAfterAskedMs }),
      };
      this.logger.warn(`list ${run.listId}: ${error.message}`);
    }
    return this.settle(run, action, items, outcome, Math.round(performance.now() - started), httpStatus);
  }

  /** Dry run: the call is recorded as it would have gone out, each member skipped with the reason "dry run". */
  private async dryRun(run: ListRun, action: 'subscribe' | 'unsubscribe', items: Item[]): Promise<SyncResult> {
    const call = this.callRecord(run, action, items.length, {
      httpStatus: null,
      durationMs: 0,
      error: null,
      dryRun: true,
      successCount: items.length,
      failureCount: 0,
    });
    const verdicts = items.map((i) => this.verdict(run, action, i, 'skipped', 'dry run', false));
    const settlement = { call, verdicts, members: [], doneInboxIds: items.flatMap((i) => i.inboxIds) };
    await this.delivery.settle(run.lease, this.env.LIST_LEASE_TTL_MS, settlement, run.account.accountId);
    this.metrics.iterableCalls.inc({ action, status: 'dry_run' });
    return { kind: 'done' };
  }

  /** Applies the delivery rules to a call's outcome, records it, and acts on what the list must do next. */
  private async settle(
    run: ListRun,
    action: 'subscribe' | 'unsubscribe',
    items: Item[],
    outcome: CallOutcome,
    durationMs: number,
    httpStatus: number | null,
  ): Promise<SyncResult> {
    const settlement = settleCall(
      action,
      items.length,
      outcome,
      items.map((i) => Boolean(i.subscriber.userId) && !i.byUserIdOnly),
      { failedTries: run.lease.attempts },
    );
    if (settlement.list.kind === 'split') {
      await this.recordCall(
        run,
        action,
        items.length,
        { httpStatus, durationMs, error: describeCallError(outcome) ?? 'too large', successCount: 0, failureCount: items.length },
        [],
      );
      // Too large, or a 409 for the whole call: in halves, until what is refused is one member.
      const half = Math.ceil(items.length / 2);
      for (const part of [items.slice(0, half), items.slice(half)]) {
        const result = await this.send(run, action, part);
        if (result.kind !== 'done') return result;
      }
      return { kind: 'done' };
    }
    const now = Date.now();
    const giveUp = settlement.list.kind === 'retry' && now - (run.lease.failingSince ?? now) >= this.env.DELIVERY_MAX_AGE_HOURS * 3_600_000;
    const { members, doneInboxIds, verdicts } = this.writesOf(run, action, items, settlement.members, giveUp, now);
    const delivered = settlement.members.filter((m) => m.verdict === 'delivered').length;
    const error = describeCallError(outcome);
    const ours = await this.recordCall(
      run,
      action,
      items.length,
      { httpStatus, durationMs, error, successCount: delivered, failureCount: items.length - delivered },
      verdicts,
      members,
      doneInboxIds,
    );
    if (!ours) return { kind: 'busy' };
    const next = await this.after(run, settlement.list, giveUp);
    // Members whose userId Iterable found on a user with another email go again, named by the userId alone.
    const byUserId = items.filter((_, index) => settlement.members[index]?.resendByUserId).map((item) => ({ ...item, byUserIdOnly: true }));
    return next.kind === 'done' && byUserId.length > 0 ? this.send(run, action, byUserId) : next;
  }

  /** What a call's settlement writes: each member's new state, the inbox rows done with, a verdict per member. */
  private writesOf(
    run: ListRun,
    action: 'subscribe' | 'unsubscribe',
    items: Item[],
    settled: MemberSettlement[],
    giveUp: boolean,
    now: number,
  ): { members: MemberWrite[]; doneInboxIds: number[]; verdicts: VerdictRecord[] } {
    const members: MemberWrite[] = [];
    const doneInboxIds: number[] = [];
    const verdicts: VerdictRecord[] = [];
    settled.forEach((m, index) => {
      const item = items[index] as Item;
      const reason = giveUp ? `gave up after ${this.env.DELIVERY_MAX_AGE_HOURS} h` : m.reason;
      const state = giveUp ? 'failed' : m.state;
      if (state) {
        const recheckAtMs = m.recheck ? now + this.env.ITERABLE_LATE_APPLY_WINDOW_MS : null;
        const note = state === 'failed' ? reason : item.byUserIdOnly && item.subscriber.email !== '' && m.verdict === 'delivered' ? SENT_BY_USER_ID : null;
        members.push({
          memberKey: item.memberKey,
          email: item.subscriber.email,
          userId: item.subscriber.userId ?? null,
          state,
          reason: clipReason(note, MEMBER_REASON_CHARS),
          recheckAtMs,
        });
      }
      if (m.done || giveUp) doneInboxIds.push(...item.inboxIds);
      verdicts.push(this.verdict(run, action, item, m.verdict, reason ?? (m.verdict === 'delivered' ? (item.note ?? null) : null), m.retryable && !giveUp));
    });
    return { members, doneInboxIds, verdicts };
  }

  private async after(run: ListRun, list: ListAction, gaveUp: boolean): Promise<SyncResult> {
    switch (list.kind) {
      case 'continue':
      case 'refused':
      case 'split':
        if (run.lease.attempts > 0) {
          await this.leases.recovered(run.lease);
          run.lease.attempts = 0;
          run.lease.failingSince = null;
        }
        return { kind: 'done' };
      case 'retry': {
        if (gaveUp) {
          this.logger.error(`list ${run.listId}: failing for more than ${this.env.DELIVERY_MAX_AGE_HOURS} h; its waiting members are marked failed`);
          return { kind: 'done' };
        }
        const attempt = run.lease.attempts + 1;
        const scale = list.backoffScale ?? 1;
        const inMs = retryDelayMs({
          attempt,
          baseMs: this.env.DELIVERY_RETRY_BASE_MS * scale,
          maxMs: Math.max(this.env.DELIVERY_RETRY_MAX_MS, this.env.DELIVERY_RETRY_BASE_MS * scale),
          ...(list.retryAfterMs === undefined ? {} : { retryAfterMs: list.retryAfterMs }),
        });
        await this.leases.backOff(run.lease, Date.now() + inMs, list.reason);
        run.lease.attempts = attempt;
        run.lease.failingSince ??= Date.now();
        this.logger.warn(`list ${run.listId}: ${list.reason}; try ${attempt + 1} in ${inMs} ms`);
        return { kind: 'retry', inMs };
      }
      case 'suspend': {
        const why = `${list.reason}: Iterable refused ${list.scope === 'account' ? 'the API key' : 'the list'}`;
        if (list.scope === 'account') {
          if (!(await this.accounts.suspendForKey(run.account.accountId, run.account.iterableApiKey, why))) {
            this.logger.warn(`list ${run.listId}: the refused API key was replaced during the call; not suspended, tried again with the new key`);
            return { kind: 'retry', inMs: this.env.DELIVERY_RETRY_BASE_MS };
          }
        } else await this.connections.suspendListEverywhere(run.listId, why);
        // A suspended list is not failing: after a resume it starts again with a clean slate (and its tries of an unknown list).
        if (run.lease.attempts > 0) {
          await this.leases.recovered(run.lease);
          run.lease.attempts = 0;
          run.lease.failingSince = null;
        }
        this.logger.error(`list ${run.listId} (account ${run.account.accountId}) suspended (${list.reason}); its changes wait for a resume`);
        return { kind: 'suspended' };
      }
    }
  }

  private verdict(
    run: ListRun,
    action: 'subscribe' | 'unsubscribe',
    item: Item,
    outcome: VerdictRecord['outcome'],
    reason: string | null,
    retryable: boolean,
  ): VerdictRecord {
    return {
      accountId: item.source?.accountId ?? run.account.accountId,
      audienceId: item.source?.audienceId ?? 0,
      userKey: item.source?.userKey ?? `email:${item.memberKey}`,
      mpid: item.source?.mpid ?? null,
      action: action === 'subscribe' ? 'add' : 'delete',
      email: item.subscriber.email,
      userId: item.subscriber.userId ?? null,
      outcome,
      reason: clipReason(reason, VERDICT_REASON_CHARS),
      retryable,
      memberKey: item.memberKey,
    };
  }

  private callRecord(
    run: ListRun,
    action: 'subscribe' | 'unsubscribe',
    subscriberCount: number,
    call: { httpStatus: number | null; durationMs: number; error: string | null; dryRun?: boolean; successCount: number; failureCount: number },
  ) {
    return {
      id: randomUUID(),
      accountId: run.account.accountId,
      listId: run.listId,
      action,
      subscriberCount,
      dryRun: call.dryRun ?? false,
      createdAtMs: Date.now(),
      ...call,
    };
  }

  /** Records the call (and settles its members); false when the list was taken over meanwhile. */
  private async recordCall(
    run: ListRun,
    action: 'subscribe' | 'unsubscribe',
    subscriberCount: number,
    call: { httpStatus: number | null; durationMs: number; error: string | null; successCount: number; failureCount: number },
    verdicts: VerdictRecord[],
    members: MemberWrite[] = [],
    doneInboxIds: number[] = [],
  ): Promise<boolean> {
    const ours = await this.delivery.settle(
      run.lease,
      this.env.LIST_LEASE_TTL_MS,
      { call: this.callRecord(run, action, subscriberCount, call), verdicts, members, doneInboxIds },
      run.account.accountId,
    );
    this.metrics.iterableCalls.inc({ action, status: call.httpStatus === null ? 'error' : String(call.httpStatus) });
    if (call.httpStatus === 429) this.metrics.rateLimited.inc();
    if (call.httpStatus !== null) this.metrics.callDuration.observe({ action }, call.durationMs / 1000);
    if (subscriberCount > 0) this.metrics.batchSize.observe({ action }, subscriberCount);
    for (const v of verdicts) this.metrics.verdicts.inc({ outcome: v.outcome, reason: v.reason ?? '' });
    return ours;
  }
}

function distinctMembers(entries: InboxEntry[]): number {
  return new Set(entries.map((e) => e.email)).size;
}
