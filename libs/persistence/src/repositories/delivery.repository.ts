import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MembershipAction } from '@audience-bridge/domain';
import { Database } from '../database';

/** A pending desired state, as the worker reads it to send. `version` guards the write-back. */
export interface PendingChange {
  accountId: number;
  audienceId: number;
  userKey: string;
  listId: number;
  mpid: string | null;
  action: MembershipAction;
  email: string;
  userId: string | null;
  version: number;
  attempts: number;
}

/** What happened to one pending change in one call. */
export type Settlement =
  | { state: 'delivered' }
  | { state: 'failed'; reason: string }
  | { state: 'skipped'; reason: string }
  /** A transient failure: try again at `nextAttemptAt`, or give up as failed when attempts run out. */
  | { state: 'retry'; reason: string; nextAttemptAt: number; maxAttempts: number }
  /** Nothing changes (the connection or account was suspended: the change waits for a resume). */
  | { state: 'waiting'; reason: string };

export interface CallRecord {
  id: string;
  accountId: number;
  listId: number;
  action: 'subscribe' | 'unsubscribe';
  subscriberCount: number;
  httpStatus: number | null;
  successCount: number;
  failureCount: number;
  durationMs: number;
  error: string | null;
  dryRun: boolean;
  createdAtMs: number;
}

export interface VerdictRecord {
  change: PendingChange;
  outcome: 'delivered' | 'skipped' | 'failed';
  reason: string | null;
  retryable: boolean;
  settlement: Settlement;
}

export interface DueList {
  accountId: number;
  listId: number;
}

/** Rows per multi-row statement: 13 parameters a row keeps 1000 rows under both drivers' limits. */
const ROWS_PER_STATEMENT = 1000;

/** The worker's side of the database: pending changes in, verdicts and audit rows out. */
@Injectable()
export class DeliveryRepository {
  constructor(private readonly db: Database) {}

  /**
   * Up to `limit` pending changes of one action for a list that are due now, in index order (roughly the
   * order they were written). No ORDER BY: sorting every pending row of a large backlog on each call
   * would make a drain quadratic.
   */
  async pending(accountId: number, listId: number, action: MembershipAction, limit: number, now = Date.now()): Promise<PendingChange[]> {
    const rows = await this.db.query<Record<string, string | number | null>>(
      `SELECT account_id, audience_id, user_key, list_id, mpid, action, email, user_id, version, attempts
       FROM memberships
       WHERE account_id = ? AND list_id = ? AND state = 'pending' AND action = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
       LIMIT ?`,
      [accountId, listId, action, now, limit],
    );
    return rows.map((r) => ({
      accountId: Number(r['account_id']),
      audienceId: Number(r['audience_id']),
      userKey: String(r['user_key']),
      listId: Number(r['list_id']),
      mpid: r['mpid'] === null ? null : String(r['mpid']),
      action: r['action'] as MembershipAction,
      email: String(r['email']),
      userId: r['user_id'] === null ? null : String(r['user_id']),
      version: Number(r['version']),
      attempts: Number(r['attempts']),
    }));
  }

  /** Whether the list has any pending change due now. */
  async hasDue(accountId: number, listId: number, now = Date.now()): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 AS due FROM memberships WHERE account_id = ? AND list_id = ? AND state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) LIMIT 1`,
      [accountId, listId, now],
    );
    return rows.length > 0;
  }

  /** Lists of active accounts with changes due now: what the sweeper re-enqueues. */
  async dueLists(now = Date.now()): Promise<DueList[]> {
    const rows = await this.db.query<{ account_id: number | string; list_id: number | string }>(
      `SELECT DISTINCT m.account_id, m.list_id FROM memberships m
       JOIN accounts a ON a.account_id = m.account_id AND a.status = 'active'
       WHERE m.state = 'pending' AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ?)`,
      [now],
    );
    return rows.map((r) => ({ accountId: Number(r.account_id), listId: Number(r.list_id) }));
  }

  /** Pending changes of audiences whose connection mParticle removed: recorded as skipped, never sent. */
  async skipRemovedAudiences(accountId: number, listId: number): Promise<number> {
    const { affected } = await this.db.execute(
      `UPDATE memberships SET state = 'skipped', skip_reason = 'audience removed', updated_at = CURRENT_TIMESTAMP
       WHERE account_id = ? AND list_id = ? AND state = 'pending'
         AND audience_id IN (SELECT audience_id FROM audience_connections WHERE account_id = ? AND status = 'removed')`,
      [accountId, listId, accountId],
    );
    return affected;
  }

  /**
   * Writes one call's audit row, each user's verdict, and the new state of each change, in one
   * transaction. A change is only settled if its version is still the one that was sent: a newer change
   * that arrived meanwhile stays pending and goes out next.
   */
  async record(call: CallRecord, verdicts: VerdictRecord[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      await this.db.query(
        `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms, error, dry_run, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [call.id, call.accountId, call.listId, call.action, call.subscriberCount, call.httpStatus, call.successCount, call.failureCount, call.durationMs, call.error, call.dryRun, call.createdAtMs],
        manager,
      );
      for (let i = 0; i < verdicts.length; i += ROWS_PER_STATEMENT) {
        const chunk = verdicts.slice(i, i + ROWS_PER_STATEMENT);
        await this.db.query(
          `INSERT INTO delivery_verdicts (call_id, account_id, audience_id, list_id, user_key, mpid, action, email, user_id, outcome, reason, retryable, created_at_ms)
           VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((v) => [
            call.id,
            v.change.accountId,
            v.change.audienceId,
            v.change.listId,
            v.change.userKey,
            v.change.mpid,
            v.change.action,
            v.change.email,
            v.change.userId,
            v.outcome,
            v.reason,
            v.retryable,
            call.createdAtMs,
          ]),
          manager,
        );
      }
      await this.settle(manager, verdicts);
    });
  }

  private async settle(manager: EntityManager, verdicts: VerdictRecord[]): Promise<void> {
    const groups = new Map<string, { settlement: Settlement; changes: PendingChange[] }>();
    for (const v of verdicts) {
      if (v.settlement.state === 'waiting') continue;
      const key = JSON.stringify(v.settlement);
      const group = groups.get(key) ?? { settlement: v.settlement, changes: [] };
      group.changes.push(v.change);
      groups.set(key, group);
    }
    for (const { settlement, changes } of groups.values()) {
      for (let i = 0; i < changes.length; i += ROWS_PER_STATEMENT) {
        const chunk = changes.slice(i, i + ROWS_PER_STATEMENT);
        const row = `(${this.db.typed('bigint')}, ${this.db.typed('bigint')}, ${this.db.typed('text')}, ${this.db.typed('integer')})`;
        const keyParams = chunk.flatMap((c) => [c.accountId, c.audienceId, c.userKey, c.version]);
        const [set, params] = this.settlementSql(settlement);
        // UPDATE … FROM a VALUES list: each key is found through the primary key (an IN over row values
        // would let PostgreSQL scan the whole table on every call).
        await this.db.query(
          `WITH k (k_account, k_audience, k_user, k_version) AS (VALUES ${chunk.map(() => row).join(', ')})
           UPDATE memberships SET ${set}, updated_at = CURRENT_TIMESTAMP
           FROM k
           WHERE memberships.account_id = k.k_account AND memberships.audience_id = k.k_audience
             AND memberships.user_key = k.k_user AND memberships.version = k.k_version AND memberships.state = 'pending'`,
          [...keyParams, ...params],
          manager,
        );
      }
    }
  }

  private settlementSql(s: Settlement): [string, unknown[]] {
    switch (s.state) {
      case 'delivered':
        return [`state = 'delivered', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL`, []];
      case 'failed':
        return [`state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL`, [s.reason]];
      case 'skipped':
        return [`state = 'skipped', skip_reason = ?, next_attempt_at = NULL`, [s.reason]];
      case 'retry':
        return [
          `attempts = attempts + 1, last_error = ?,
           state = CASE WHEN attempts + 1 >= ${this.db.typed('integer')} THEN 'failed' ELSE 'pending' END,
           next_attempt_at = CASE WHEN attempts + 1 >= ${this.db.typed('integer')} THEN NULL ELSE ${this.db.typed('bigint')} END`,
          [s.reason, s.maxAttempts, s.maxAttempts, s.nextAttemptAt],
        ];
      case 'waiting':
        return [`last_error = ?`, [s.reason]];
    }
  }
}
