import { Injectable } from '@nestjs/common';
import type { DeliveryStatus } from '@audience-bridge/domain';
import { Database } from '../database';
import { callCounts } from './call-counts';
import { pruneDeliveryBuckets } from './delivery-buckets';
import { appendInbox } from './sync-inbox';
import { successesOf, type CallRow, type SuccessVerdict } from './audit-rows';

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

/** One Iterable call, as delivery_calls records it, with its time as an ISO string. */
export interface DeliveryRecord extends Omit<CallRow, 'createdAtMs'> {
  time: string;
}

/** One member's verdict of one Iterable call, as read back from delivery_verdicts. */
export interface RecordedVerdict {
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
  /** The failure reason, e.g. `forgotten`; `dry run` brings the lists to the newest state (after a dry run). */
  reason?: string;
  /** When the member failed, epoch ms, inclusive. */
  from?: number;
  /** Exclusive. */
  to?: number;
}

/** A `delivery_verdicts` row (call_id, account_id, audience_id, list_id, action, outcome, reason, retryable, created_at_ms) as a recorded verdict. */
export function recordedVerdict(r: Record<string, unknown>): RecordedVerdict {
  return {
    time: new Date(Number(r['created_at_ms'])).toISOString(),
    callId: String(r['call_id']),
    accountId: Number(r['account_id']),
    audienceId: Number(r['audience_id']),
    listId: Number(r['list_id']),
    action: String(r['action']),
    outcome: String(r['outcome']),
    reason: r['reason'] === null || r['reason'] === undefined ? null : String(r['reason']),
    retryable: Boolean(Number(r['retryable']) || r['retryable'] === true),
  };
}

/** A simple delivery from the compact form, as a recorded verdict. */
export function successVerdict(v: SuccessVerdict): RecordedVerdict {
  return {
    time: new Date(v.createdAtMs).toISOString(),
    callId: v.callId,
    accountId: v.accountId,
    audienceId: v.audienceId,
    listId: v.listId,
    action: v.action,
    outcome: 'delivered',
    reason: null,
    retryable: false,
  };
}

/** Where clause pieces, built once per filter. */
function where(conditions: [boolean, string, unknown[]][]): { sql: string; params: unknown[] } {
  const used = conditions.filter(([on]) => on);
  return { sql: used.length ? `WHERE ${used.map(([, c]) => c).join(' AND ')}` : '', params: used.flatMap(([, , p]) => p) };
}

/** The connections a replay filter names, and the failed list members it selects. */
function replayScope(filter: ReplayFilter): { connections: { sql: string; params: unknown[] }; failed: { sql: string; params: unknown[] } } {
  const connections = where([
    [filter.accountId !== undefined, 'c.account_id = ?', [filter.accountId]],
    [filter.audienceId !== undefined, 'c.audience_id = ?', [filter.audienceId]],
    [filter.listId !== undefined, 'c.list_id = ?', [filter.listId]],
  ]);
  const listScope = connections.sql ? `lm.list_id IN (SELECT c.list_id FROM audience_connections c ${connections.sql})` : '';
  const failed = where([
    [true, `lm.state = 'failed'`, []],
    [filter.reason !== undefined, 'lm.reason = ?', [filter.reason]],
    [listScope !== '', listScope, connections.params],
    [filter.from !== undefined, 'lm.updated_at_ms >= ?', [filter.from]],
    [filter.to !== undefined, 'lm.updated_at_ms < ?', [filter.to]],
  ]);
  return { connections, failed };
}

function encodeCursor(createdAtMs: number, id: string): string {
  return Buffer.from(`${createdAtMs}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAtMs: number; id: string } | undefined {
  const match = Buffer.from(cursor, 'base64url')
    .toString()
    .match(/^(\d+):([0-9a-f-]{36})$/);
  return match ? { createdAtMs: Number(match[1]), id: match[2] } : undefined;
}

/** The audit side of the database for the API: deliveries, per-user history, replay and retention. */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Iterable calls, newest first, `limit` at a time; pass the returned `nextCursor` to continue. */
  async deliveries(filter: DeliveryFilter, limit: number, cursor?: string): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }> {
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

  /** The verdicts recorded for a user (their simple deliveries from the compact form too), newest first. */
  async verdictsFor(mpid: string, limit = 200): Promise<RecordedVerdict[]> {
    const [rows, successes] = await Promise.all([
      this.db.query<Record<string, string | number | boolean | null>>(
        `SELECT call_id, account_id, audience_id, list_id, action, outcome, reason, retryable, created_at_ms FROM delivery_verdicts
         WHERE mpid = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?`,
        [mpid, limit],
      ),
      // A user with an mpid is keyed by it (userKeyOf).
      successesOf(this.db, [mpid], limit),
    ]);
    return [...rows.map(recordedVerdict), ...successes.map(successVerdict)].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)).slice(0, limit);
  }

  /**
   * Sends failed members again: each matching member Iterable refused is put back in its list's inbox, where
   * the worker brings it to its newest state. `reason: 'dry run'` brings every list of the matching
   * connections to the newest state. Answers how many members, and which lists.
   */
  async replay(filter: ReplayFilter): Promise<{ requeued: number; lists: number[] }> {
    const { connections, failed } = replayScope(filter);
    return this.db.transaction(async (manager) => {
      if (filter.reason === 'dry run') {
        const rows = await this.db.query<{ list_id: number | string }>(
          `SELECT DISTINCT c.list_id FROM audience_connections c ${connections.sql ? `${connections.sql} AND` : 'WHERE'} c.list_id IS NOT NULL`,
          connections.params,
          manager,
        );
        const lists = rows.map((r) => Number(r.list_id));
        await appendInbox(
          this.db,
          lists.map((listId) => ({ listId })),
          manager,
        );
        return { requeued: 0, lists };
      }
      const members = await this.db.query<{ list_id: number | string; member_key: string }>(
        `SELECT lm.list_id, lm.member_key FROM list_members lm ${failed.sql}`,
        failed.params,
        manager,
      );
      await appendInbox(
        this.db,
        members.map((m) => ({ listId: Number(m.list_id), email: m.member_key })),
        manager,
      );
      return { requeued: members.length, lists: [...new Set(members.map((m) => Number(m.list_id)))].sort((x, y) => x - y) };
    });
  }

  /**
   * What `replay(filter)` would do, changing nothing: how many failed members it would send again, and on
   * which lists (for `reason: 'dry run'`: the lists it would bring to the newest state, and 0 members).
   */
  async replayPreview(filter: ReplayFilter): Promise<{ requeued: number; lists: number[] }> {
    const { connections, failed } = replayScope(filter);
    if (filter.reason === 'dry run') {
      const rows = await this.db.query<{ list_id: number | string }>(
        `SELECT DISTINCT c.list_id FROM audience_connections c ${connections.sql ? `${connections.sql} AND` : 'WHERE'} c.list_id IS NOT NULL`,
        connections.params,
      );
      return { requeued: 0, lists: rows.map((r) => Number(r.list_id)).sort((x, y) => x - y) };
    }
    const rows = await this.db.query<{ list_id: number | string; n: number | string }>(
      `SELECT lm.list_id, COUNT(*) AS n FROM list_members lm ${failed.sql} GROUP BY lm.list_id`,
      failed.params,
    );
    return { requeued: rows.reduce((n, r) => n + Number(r.n), 0), lists: rows.map((r) => Number(r.list_id)).sort((x, y) => x - y) };
  }

  /**
   * Deletes audit rows (and remembered message ids) older than `cutoffMs`, and the quarter hours' figures wholly
   * before it; answers how many of each (`successes`: compact rows).
   */
  async prune(cutoffMs: number): Promise<{ calls: number; verdicts: number; successes: number; messages: number }> {
    const verdicts = await this.db.execute(`DELETE FROM delivery_verdicts WHERE created_at_ms < ?`, [cutoffMs]);
    const successes = await this.db.execute(`DELETE FROM delivery_successes WHERE created_at_ms < ?`, [cutoffMs]);
    const calls = await this.db.execute(`DELETE FROM delivery_calls WHERE created_at_ms < ?`, [cutoffMs]);
    // received_at is the database's own CURRENT_TIMESTAMP: compare in its clock and time zone.
    const messages = await this.db.execute(`DELETE FROM received_messages WHERE ${this.db.olderThan('received_at')}`, [Math.max(0, Date.now() - cutoffMs)]);
    await pruneDeliveryBuckets(this.db, cutoffMs);
    return { calls: calls.affected, verdicts: verdicts.affected, successes: successes.affected, messages: messages.affected };
  }

  /** Iterable calls recorded, all and failed (not 200, dry runs aside), and those answered 429 (the kept counts). */
  callCounts(): Promise<{ calls: number; failedCalls: number; rateLimited: number }> {
    return callCounts(this.db);
  }
}
