import type { EntityManager } from 'typeorm';
import type { Database } from '../database';

/** The columns of a `delivery_verdicts` row, in the order every writer of verdicts passes them to `insertRows`. */
export const VERDICT_COLUMNS = [
  { name: 'call_id', type: 'text' },
  { name: 'account_id', type: 'bigint' },
  { name: 'audience_id', type: 'bigint' },
  { name: 'list_id', type: 'bigint' },
  { name: 'user_key', type: 'text' },
  { name: 'mpid', type: 'text' },
  { name: 'action', type: 'text' },
  { name: 'email', type: 'text' },
  { name: 'user_id', type: 'text' },
  { name: 'outcome', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'retryable', type: 'boolean' },
  { name: 'created_at_ms', type: 'bigint' },
] as const;

/** `?, ?, ?` for an `IN (…)` of these values. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/** One `delivery_calls` row: a call to Iterable (a list's subscribe/unsubscribe, or users/bulkUpdate under list 0). */
export interface CallRow {
  id: string;
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
  createdAtMs: number;
}

/** One user's verdict on a call; its call id, list and time are the call's. */
export interface VerdictRow {
  accountId: number;
  audienceId: number;
  userKey: string;
  mpid: string | null;
  action: string;
  email: string | null;
  userId: string | null;
  outcome: 'delivered' | 'skipped' | 'failed';
  reason: string | null;
  retryable: boolean;
}

/** Records a call and its per-user verdicts, in the caller's transaction. */
export async function insertCallAndVerdicts(db: Database, manager: EntityManager, call: CallRow, verdicts: readonly VerdictRow[]): Promise<void> {
  await db.query(
    'INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, ' +
      'success_count, failure_count, duration_ms, error, dry_run, created_at_ms)\n       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      call.id,
      call.accountId,
      call.listId,
      call.action,
      call.subscriberCount,
      call.httpStatus,
      call.successCount,
      call.failureCount,
      call.durationMs,
      call.error,
      call.dryRun,
      call.createdAtMs,
    ],
    manager,
  );
  await db.insertRows(
    'delivery_verdicts',
    VERDICT_COLUMNS,
    verdicts.map((v) => [
      call.id,
      v.accountId,
      v.audienceId,
      call.listId,
      v.userKey,
      v.mpid,
      v.action,
      v.email,
      v.userId,
      v.outcome,
      v.reason,
      v.retryable,
      call.createdAtMs,
    ]),
    '',
    manager,
  );
}
