import { Injectable } from '@nestjs/common';
import { Database } from '../database';

export const DELIVERY_STATUSES = ['success', 'partial', 'failed', 'dry-run'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryFilter {
  accountId?: number;
  audienceId?: number;
  listId?: number;
  status?: DeliveryStatus;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
}

export interface DeliveryView {
  id: string;
  time: string;
  accountId: number;
  listId: number;
  action: string;
  subscriberCount: number;
  httpStatus: number | null;
  successCount: number;
  failureCount: number;
  durationMs: number;
  error: string | null;
  dryRun: boolean;
}

export interface VerdictView {
  time: string;
  callId: string;
  accountId: number;
  audienceId: number;
  listId: number;
  action: string;
  outcome: string;
  reason: string | null;
  retryable: boolean;
}

export interface ReplayFilter {
  accountId?: number;
  audienceId?: number;
  listId?: number;
  /** The failure reason (`last_error`), e.g. `forgotten`; `dry run` replays changes skipped by a dry run. */
  reason?: string;
  /** mParticle time of the change (`timestamp_ms`), epoch ms, inclusive. */
  from?: number;
  /** Exclusive. */
  to?: number;
}

/** Where clause pieces, built once per filter. */
function where(conditions: [boolean, string, unknown[]][]): { sql: string; params: unknown[] } {
  const used = conditions.filter(([on]) => on);
  return { sql: used.length ? `WHERE ${used.map(([, c]) => c).join(' AND ')}` : '', params: used.flatMap(([, , p]) => p) };
}

function encodeCursor(createdAtMs: number, id: string): string {
  return Buffer.from(`${createdAtMs}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAtMs: number; id: string } | undefined {
  const match = Buffer.from(cursor, 'base64url').toString().match(/^(\d+):([0-9a-f-]{36})$/);
  return match ? { createdAtMs: Number(match[1]), id: match[2] } : undefined;
}

/** The audit side of the database for the API: deliveries, per-user history, replay and retention. */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Iterable calls, newest first, `limit` at a time; pass the returned `nextCursor` to continue. */
  async deliveries(filter: DeliveryFilter, limit: number, cursor?: string): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) throw new RangeError('cursor is not one this API returned');
    const statusSql: Record<DeliveryStatus, string> = {
      success: `dry_run = ? AND http_status = 200 AND failure_count = 0`,
      partial: `dry_run = ? AND http_status = 200 AND failure_count > 0`,
      failed: `dry_run = ? AND (http_status IS NULL OR http_status <> 200)`,
      'dry-run': `dry_run = ?`,
    };
    const { sql, params } = where([
      [filter.accountId !== undefined, 'account_id = ?', [filter.accountId]],
      [filter.listId !== undefined, 'list_id = ?', [filter.listId]],
      [
        filter.audienceId !== undefined,
        `list_id IN (SELECT list_id FROM audience_connections c WHERE c.audience_id = ?${filter.accountId !== undefined ? ' AND c.account_id = ?' : ''})`,
        filter.accountId !== undefined ? [filter.audienceId, filter.accountId] : [filter.audienceId],
      ],
      [filter.status !== undefined, statusSql[filter.status ?? 'success'], [filter.status === 'dry-run']],
      [filter.from !== undefined, 'created_at_ms >= ?', [filter.from]],
      [filter.to !== undefined, 'created_at_ms < ?', [filter.to]],
      [after !== undefined, '(created_at_ms < ? OR (created_at_ms = ? AND id < ?))', [after?.createdAtMs, after?.createdAtMs, after?.id]],
    ]);
    const rows = await this.db.query<Record<string, string | number | boolean | null>>(
      `SELECT * FROM delivery_calls ${sql} ORDER BY created_at_ms DESC, id DESC LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map((r) => ({
      id: String(r['id']),
      time: new Date(Number(r['created_at_ms'])).toISOString(),
      accountId: Number(r['account_id']),
      listId: Number(r['list_id']),
      action: String(r['action']),
      subscriberCount: Number(r['subscriber_count']),
      httpStatus: r['http_status'] === null ? null : Number(r['http_status']),
      successCount: Number(r['success_count']),
      failureCount: Number(r['failure_count']),
      durationMs: Number(r['duration_ms']),
      error: r['error'] === null ? null : String(r['error']),
      dryRun: Boolean(Number(r['dry_run']) || r['dry_run'] === true),
    }));
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { items, nextCursor: last ? encodeCursor(Number(last['created_at_ms']), String(last['id'])) : null };
  }

  /** The verdicts recorded for a user, newest first. */
  async verdictsFor(mpid: string, limit = 200): Promise<VerdictView[]> {
    const rows = await this.db.query<Record<string, string | number | boolean | null>>(
      `SELECT call_id, account_id, audience_id, list_id, action, outcome, reason, retryable, created_at_ms FROM delivery_verdicts
       WHERE mpid = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?`,
      [mpid, limit],
    );
    return rows.map((r) => ({
      time: new Date(Number(r['created_at_ms'])).toISOString(),
      callId: String(r['call_id']),
      accountId: Number(r['account_id']),
      audienceId: Number(r['audience_id']),
      listId: Number(r['list_id']),
      action: String(r['action']),
      outcome: String(r['outcome']),
      reason: r['reason'] === null ? null : String(r['reason']),
      retryable: Boolean(Number(r['retryable']) || r['retryable'] === true),
    }));
  }

  /** Puts matching failed changes back to pending (attempts reset); answers how many, and which lists to sync. */
  async replay(filter: ReplayFilter): Promise<{ requeued: number; lists: { accountId: number; listId: number }[] }> {
    const dryRun = filter.reason === 'dry run';
    const { sql, params } = where([
      [true, dryRun ? `state = 'skipped' AND skip_reason = 'dry run'` : `state = 'failed'`, []],
      [filter.reason !== undefined && !dryRun, 'last_error = ?', [filter.reason]],
      [filter.accountId !== undefined, 'account_id = ?', [filter.accountId]],
      [filter.audienceId !== undefined, 'audience_id = ?', [filter.audienceId]],
      [filter.listId !== undefined, 'list_id = ?', [filter.listId]],
      [filter.from !== undefined, 'timestamp_ms >= ?', [filter.from]],
      [filter.to !== undefined, 'timestamp_ms < ?', [filter.to]],
    ]);
    return this.db.transaction(async (manager) => {
      const lists = await this.db.query<{ account_id: number | string; list_id: number | string }>(`SELECT DISTINCT account_id, list_id FROM memberships ${sql}`, params, manager);
      const { affected } = await this.db.execute(
        `UPDATE memberships SET state = 'pending', skip_reason = NULL, attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = CURRENT_TIMESTAMP ${sql}`,
        params,
        manager,
      );
      return { requeued: affected, lists: lists.map((l) => ({ accountId: Number(l.account_id), listId: Number(l.list_id) })) };
    });
  }

  /** Deletes audit rows (and remembered message ids) older than `cutoffMs`; answers how many of each. */
  async prune(cutoffMs: number): Promise<{ calls: number; verdicts: number; messages: number }> {
    const verdicts = await this.db.execute(`DELETE FROM delivery_verdicts WHERE created_at_ms < ?`, [cutoffMs]);
    const calls = await this.db.execute(`DELETE FROM delivery_calls WHERE created_at_ms < ?`, [cutoffMs]);
    // received_at is the database's own CURRENT_TIMESTAMP: compare in its clock and time zone.
    const messages = await this.db.execute(`DELETE FROM received_messages WHERE ${this.db.olderThan('received_at')}`, [Math.max(0, Date.now() - cutoffMs)]);
    return { calls: calls.affected, verdicts: verdicts.affected, messages: messages.affected };
  }

  /** Iterable calls recorded, all and failed (not 200, dry runs aside). */
  async callCounts(): Promise<{ calls: number; failedCalls: number; rateLimited: number }> {
    const [row] = await this.db.query<{ n: number | string; f: number | string | null; r: number | string | null }>(
      `SELECT COUNT(*) AS n,
              SUM(CASE WHEN dry_run = ? AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END) AS f,
              SUM(CASE WHEN http_status = 429 THEN 1 ELSE 0 END) AS r
       FROM delivery_calls`,
      [false],
    );
    return { calls: Number(row?.n ?? 0), failedCalls: Number(row?.f ?? 0), rateLimited: Number(row?.r ?? 0) };
  }
}
