import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Environment } from '@audience-bridge/config';
import { IterableError, isIterableError, retryDelayMs } from '@audience-bridge/iterable-client';
import type { IterableListReader } from '@audience-bridge/iterable-client';
import { DRIFT_REPAIR_REASON } from '@audience-bridge/mapping';
import {
  AccountsRepository,
  DesiredRow,
  DriftReport,
  DriftRepository,
  isStorageUnavailable,
  KnownRow,
  RepairMember,
  untilWritten,
} from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { DriftComparison } from './drift-comparison';
import { DriftMetrics } from './drift-metrics.service';
import { ListReadersService } from './list-readers.service';

/** Rows per database read: each statement reads at most this many index entries. */
const PAGE_ROWS = 5000;
/** Members a repair writes per transaction. */
const REPAIR_BATCH = 1000;
/** How often a running check says it is alive (a check whose heartbeat stops for DRIFT_STALE_MS is taken over). */
const HEARTBEAT_MS = 15_000;
/** Tries of a list read that fails with a transient error; 429s (someone else used the budget) are waited out up to RATE_LIMITED_TRIES times. */
const READ_TRIES = 6;
const RATE_LIMITED_TRIES = 30;

/** A check that cannot reach a verdict: the report says why, in words for an operator. */
class DriftFailure extends Error {}
/** Another worker took the check over (this one was paused past its heartbeat): stop quietly. */
class LostCheck extends Error {}
/** This worker is shutting down: the check is given back for another worker, not failed. */
class Stopping extends Error {}

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export type DriftRunResult = 'done' | 'failed' | 'skipped' | 'lost' | 'released';

/**
 * Runs one drift check of one Iterable list (docs: README "Drift checks"):
 * 1. claims the report (one worker per check; heartbeats while it runs);
 * 2. reads the list from Iterable (`getUsers`, streamed, within the read budget shared by every worker);
 * 3. reads, page by page, the desired state (every add of every audience mapped to the list), the members
 *    whose change is pending, unanswered or settled within DRIFT_SETTLE_MS of the read (left out: Iterable's
 *    reads lag its writes) and those Iterable refused for good;
 * 4. merges both sides in an external sort (bounded memory) into missing and extra members;
 * 5. with `repair`, puts each difference through delivery (marked unknown with the reason "drift repair", an
 *    inbox row), so every call it causes is batched, rate limited and audited like any other.
 */
@Injectable()
export class DriftCheckService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DriftCheckService.name);
  private readonly processId = `${hostname()}:${process.pid}`;
  private stopping = false;
  /** Checks running in this process: a shutdown stops their waits and reads at once. */
  private readonly running = new Set<AbortController>();
  /** Lines per sorted run (tests make it small to exercise the merge). */
  runLines = 100_000;
  /** How long a check waits for a whole-list resend (a change of settings) to be expanded before it gives up. */
  wholeListWaitMs = 60_000;
  /** Tries of a list read that fails with a transient error (a partial read included), and the first backoff between them. */
  readTries = READ_TRIES;
  readRetryBaseMs = 2000;

  constructor(
    private readonly env: Environment,
    private readonly drift: DriftRepository,
    private readonly accounts: AccountsRepository,
    private readonly readers: ListReadersService,
    private readonly producer: ListSyncProducer,
    private readonly metrics: DriftMetrics,
  ) {}

  /** On SIGTERM: every running check stops (a wait for the read budget, a read) and is given back for another worker. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const controller of this.running) controller.abort(new Stopping('shutting down'));
  }

  async run(reportId: number): Promise<DriftRunResult> {
    const holder = `${this.processId}:${randomUUID().slice(0, 8)}`;
    if (this.stopping) return 'skipped';
    // The claim is written, then the report read back: storage failing between the two (a restart) left the check
    // claimed by a holder that had given up, until the stale takeover two minutes later (found by the model checker,
    // seed 336 PostgreSQL). Tried again once storage is back: a claim of the same holder takes it again.
    const report = await untilWritten(() => this.drift.claim(reportId, holder));
    if (!report) return 'skipped';
    const controller = new AbortController();
    this.running.add(controller);
    const started = performance.now();
    let phase = 'starting';
    let lost = false;
    const beat = setInterval(() => {
      this.drift.heartbeat(report.id, holder, phase).then(
        (ours) => (lost ||= !ours),
        () => undefined,
      );
    }, HEARTBEAT_MS);
    /** How long each phase took (the log line of a finished check says it). */
    const timings = new Map<string, number>();
    let phaseStarted = performance.now();
    const enter = async (next: string): Promise<void> => {
      timings.set(phase, (timings.get(phase) ?? 0) + performance.now() - phaseStarted);
      phaseStarted = performance.now();
      phase = next;
      if (lost || !(await this.drift.heartbeat(report.id, holder, next))) throw new LostCheck();
      if (this.stopping) throw new Stopping('shutting down');
    };
    const alive = (): void => {
      if (lost) throw new LostCheck();
      if (this.stopping) throw new Stopping('shutting down');
    };
    /** The comparison under way (its temporary files are removed at the end, whatever happens). */
    const current: { comparison?: DriftComparison } = {};
    let repaired = 0;
    this.logger.log(
      `drift check ${report.id} of list ${report.listId} (account ${report.accountId}, ` +
        `by ${report.identifier}${report.repair ? ', repair' : ', report only'}) started`,
    );
    try {
      const account = await this.accounts.findForDelivery(report.accountId);
      if (!account) throw new DriftFailure(`account ${report.accountId} not found`);
      if (!account.iterableApiKey) throw new DriftFailure('the account has no Iterable API key: set one with PUT /v1/accounts/:id');
      if (account.status === 'suspended')
        throw new DriftFailure(`the account is suspended (${account.suspendedReason ?? 'no reason'}): resume it, then check again`);
      await enter('waiting for a whole-list resend');
      await this.waitForWholeList(report.listId, alive);

      await enter('waiting for the read budget');
      const read = await this.readList(
        this.readers.readerFor(account),
        report,
        holder,
        (p) => enter(p),
        alive,
        (c) => (current.comparison = c),
        controller.signal,
      );
      const checkedAt = read.sentAt;
      const compared = read.comparison;
      if (report.identifier === 'email' && compared.nonEmailLines > 0 && compared.nonEmailLines * 2 > compared.iterableLines) {
        throw new DriftFailure(
          `Iterable's list named ${compared.nonEmailLines} of its ${compared.iterableLines} members by something that is no email (userIds?): ` +
            'a userId-based project is compared by userId: PUT /v1/accounts/:id/drift-settings {"identifier": "userId"}',
        );
      }

      await enter('reading the desired state');
      await this.readDatabase(report, compared, checkedAt - this.env.DRIFT_SETTLE_MS, alive);

      await enter(report.repair ? 'comparing and repairing' : 'comparing');
      const batch: RepairMember[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        const members = batch.splice(0);
        await this.drift.queueRepair(report.listId, members, DRIFT_REPAIR_REASON);
        repaired += members.length;
      };
      // repairExtras `ours` (the default; null: a check asked before the choice existed, which repaired all): an extra
      // member is unsubscribed only when this service once subscribed it (list_members.ever_subscribed); the rest,
      // added by hand or by another tool, stay on the list and are counted as kept.
      const onlyOurs = report.repairExtras === 'ours';
      const extras: RepairMember[] = [];
      let extraKept = 0;
      const vetExtras = async (): Promise<void> => {
        if (extras.length === 0) return;
        const candidates = extras.splice(0);
        const ours = await this.drift.subscribedByUs(report.listId, candidates);
        extraKept += candidates.length - ours.length;
        batch.push(...ours);
      };
      const counts = await compared.run(async (verdict, _key, member) => {
        if (!report.repair) return;
        if (verdict === 'extra' && onlyOurs) {
          extras.push(member);
          if (extras.length >= REPAIR_BATCH) await vetExtras();
        } else batch.push(member);
        if (batch.length >= REPAIR_BATCH) {
          alive();
          await flush();
        }
      });
      await vetExtras();
      await flush();
      if (repaired > 0) await this.producer.enqueue([{ listId: report.listId }], 0);

      timings.set(phase, (timings.get(phase) ?? 0) + performance.now() - phaseStarted);
      const result = { ...counts, repaired, extraKept };
      if (!(await this.drift.finish(report.id, holder, result))) throw new LostCheck();
      const seconds = (performance.now() - started) / 1000;
      this.metrics.checks.inc({ outcome: 'done', trigger: report.trigger });
      this.metrics.duration.observe({ repair: String(report.repair) }, seconds);
      for (const [kind, n] of [
        ['missing', counts.missing],
        ['extra', counts.extra],
        ['left_out', counts.leftOut],
        ['refused', counts.refused],
        ['repaired', repaired],
      ] as const) {
        if (n > 0) this.metrics.members.inc({ kind }, n);
      }
      this.logger.log(
        `drift check ${report.id} of list ${report.listId}: ${counts.missing} missing, ${counts.extra} extra, ${counts.leftOut} left out (in flight), ` +
          `${counts.refused} refused; ${counts.iterableMembers} on Iterable's list, ${counts.desiredMembers} desired; ${repaired} sent to repair` +
          `${extraKept > 0 ? ` (${extraKept} extra kept: never subscribed by us)` : ''}; ` +
          `${seconds.toFixed(1)} s (${[...timings]
            .filter(([, ms]) => ms >= 50)
            .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
            .join(', ')}), ${compared.runs} sorted runs`,
      );
      return 'done';
    } catch (error) {
      if (error instanceof LostCheck) {
        this.logger.warn(`drift check ${report.id} of list ${report.listId}: taken over by another worker; this one stops`);
        return 'lost';
      }
      if (this.stopping) {
        await this.drift.release(report.id, holder).catch(() => undefined);
        if (repaired > 0) await this.producer.enqueue([{ listId: report.listId }], 0).catch(() => undefined);
        this.logger.warn(`drift check ${report.id} of list ${report.listId}: given back (this worker is shutting down); another worker takes it`);
        return 'released';
      }
      // Storage away (a restart, a full disk) is not the check's failure: it is given back once storage takes writes
      // again, and the workers' drift sweep signals it a few seconds later (found by the model checker, seed 800
      // PostgreSQL: a repair asked for failed for good on a database restart, and the stranger stayed on the list).
      if (isStorageUnavailable(error)) {
        await untilWritten(() => this.drift.release(report.id, holder));
        if (repaired > 0) await this.producer.enqueue([{ listId: report.listId }], 0).catch(() => undefined);
        const cause = error instanceof Error ? error.message : String(error);
        this.logger.warn(`drift check ${report.id} of list ${report.listId}: storage unavailable (${cause}); given back, it runs again`);
        return 'released';
      }
      const why =
        error instanceof DriftFailure || isIterableError(error) ? error.message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
      if (!(error instanceof DriftFailure) && !isIterableError(error))
        this.logger.error(`drift check ${report.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      // The failure may be the database's (a restart): its report is written once the database is back, not left
      // `running` until the stale takeover two minutes later (found by the model checker, seed 103 PostgreSQL).
      await untilWritten(() =>
        this.drift.fail(report.id, holder, why, { ...(current.comparison ? { iterableMembers: current.comparison.iterableLines } : {}), repaired }),
      );
      if (repaired > 0) await this.producer.enqueue([{ listId: report.listId }], 0).catch(() => undefined);
      this.metrics.checks.inc({ outcome: 'failed', trigger: report.trigger });
      this.logger.warn(`drift check ${report.id} of list ${report.listId} failed: ${why}`);
      return 'failed';
    } finally {
      this.running.delete(controller);
      clearInterval(beat);
      await current.comparison
        ?.dispose()
        .catch((error: unknown) => this.logger.warn(`drift check ${report.id}: temporary files not removed: ${String(error)}`));
    }
  }

  /** A whole-list resend (a change of settings) puts every member in flight: wait for delivery to expand it. */
  private async waitForWholeList(listId: number, alive: () => void): Promise<void> {
    const deadline = Date.now() + this.wholeListWaitMs;
    while (await this.drift.wholeListPending(listId)) {
      alive();
      if (Date.now() > deadline) {
        throw new DriftFailure(
          'the whole list waits to be sent again (a change of settings, a resume): every member is in flight; check again once it is delivered',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, this.wholeListWaitMs)));
    }
  }

  /**
   * Streams Iterable's list into a new comparison; answers it with the time the read was sent. A transient
   * failure (before or during the stream) starts again from nothing; `current` always knows the comparison to dispose.
   */
  private async readList(
    reader: IterableListReader,
    report: DriftReport,
    holder: string,
    enter: (phase: string) => Promise<void>,
    alive: () => void,
    current: (comparison: DriftComparison) => void,
    signal: AbortSignal,
  ): Promise<{ sentAt: number; comparison: DriftComparison }> {
    for (let failures = 0, limited = 0; ;) {
      let sentAt = 0;
      const comparison = new DriftComparison(report.identifier, `drift-${report.id}`, this.runLines);
      current(comparison);
      try {
        let lines = 0;
        for await (const line of reader.users(report.listId, {
          preferUserId: report.identifier === 'userId',
          // A read is taken only whole: every line ends with a newline, and the lines agree with Iterable's list size.
          verifySize: true,
          signal,
          beforeSend: async () => {
            sentAt = Date.now();
            await this.drift.markChecked(report.id, holder, sentAt);
            await enter('reading the list');
          },
        })) {
          await comparison.addIterableLine(line);
          if (++lines % 50_000 === 0) alive();
        }
        this.metrics.reads.inc({ status: '200' });
        return { sentAt, comparison };
      } catch (error) {
        await comparison.dispose().catch(() => undefined);
        if (!isIterableError(error)) throw error;
        this.metrics.reads.inc({ status: error.status === undefined ? 'error' : String(error.status) });
        const rateLimited = error.reason === 'rate limited';
        if (rateLimited) limited++;
        else failures++;
        if (!error.retryable) throw error;
        if (failures >= this.readTries || limited >= RATE_LIMITED_TRIES) {
          throw new DriftFailure(`${error.message} (read ${failures + limited} times, never whole: nothing compared, nothing repaired; check again later)`);
        }
        // A 429 with Retry-After paused the read budget for every worker: the next read waits its turn there.
        const waitMs =
          rateLimited && error.retryAfterMs !== undefined
            ? 0
            : retryDelayMs({
                attempt: failures + limited,
                baseMs: this.readRetryBaseMs,
                maxMs: 60_000,
                ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
              });
        this.logger.warn(
          `drift check ${report.id}: list read failed ` +
            `(${(error as IterableError).reason}${sentAt > 0 ? `, after ${comparison.iterableLines} lines` : ''}); ` +
            `trying again${waitMs ? ` in ${waitMs} ms` : ''}`,
        );
        await enter('waiting for the read budget');
        await sleep(waitMs, signal);
        alive();
      }
    }
  }

  /**
   * The desired adds of every audience mapped to the list, the members that matter, and the pending changes,
   * page by page; the next page is asked for while this one is sorted (PostgreSQL works meanwhile).
   */
  private async readDatabase(report: DriftReport, comparison: DriftComparison, settledSinceMs: number, alive: () => void): Promise<void> {
    const byUserId = report.identifier === 'userId';
    const pages = async <R, C>(first: C, read: (cursor: C) => Promise<{ rows: R[]; next: C | null }>, take: (row: R) => Promise<void>): Promise<void> => {
      let coming: Promise<{ rows: R[]; next: C | null }> | undefined = read(first);
      while (coming) {
        alive();
        const page: { rows: R[]; next: C | null } = await coming;
        const next = page.next;
        coming = next === null ? undefined : read(next);
        // Read ahead: if this page's rows end the check first, the next read's failure must not go unhandled.
        coming?.catch(() => undefined);
        for (const row of page.rows) await take(row);
      }
    };
    for (const { accountId, audienceId } of await this.drift.audiencesOf(report.listId)) {
      await pages<DesiredRow, string | null>(
        null,
        (after) => this.drift.desiredPage(accountId, audienceId, after, PAGE_ROWS, byUserId),
        (row) => comparison.addDesired(row),
      );
    }
    await pages<KnownRow, string | null>(
      null,
      (after) => this.drift.knownPage(report.listId, after, settledSinceMs, PAGE_ROWS, byUserId),
      (row) => comparison.addKnown(row),
    );
    await pages<{ id: number; memberKey: string | null }, number>(
      0,
      async (afterId) => {
        const rows = await this.drift.inboxPage(report.listId, afterId, PAGE_ROWS);
        return { rows, next: rows.length < PAGE_ROWS ? null : (rows[rows.length - 1] as { id: number }).id };
      },
      async (row) => {
        if (row.memberKey === null)
          throw new DriftFailure('the whole list was asked to be sent again during the check: every member is in flight; check again once it is delivered');
        await comparison.addPending(row.memberKey);
      },
    );
  }
}
