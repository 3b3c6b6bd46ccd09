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

/** The columns of a `delivery_successes` row, in the order `insertCallAndVerdicts` passes them. */
export const SUCCESS_COLUMNS = [
  { name: 'call_id', type: 'text' },
  { name: 'account_id', type: 'bigint' },
  { name: 'audience_id', type: 'bigint' },
  { name: 'list_id', type: 'bigint' },
  { name: 'action', type: 'text' },
  { name: 'n', type: 'integer' },
  { name: 'user_keys', type: 'text' },
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

/**
 * A verdict that says nothing but "delivered" on a list call: recorded in the compact form. Attribute calls
 * (list 0) keep a row per user: an erasure finds those by email and userId, which the compact form does not hold.
 */
function simplyDelivered(call: CallRow, v: VerdictRow): boolean {
  return call.listId !== 0 && v.outcome === 'delivered' && v.reason === null && !v.retryable;
}

/**
 * Records a call and what it said of each user, in the caller's transaction: users it simply delivered in one
 * `delivery_successes` row per audience and action (their keys), every other verdict in a `delivery_verdicts` row.
 */
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
  const successes = new Map<string, { audienceId: number; action: string; keys: string[] }>();
  const others: VerdictRow[] = [];
  for (const v of verdicts) {
    if (!simplyDelivered(call, v)) {
      others.push(v);
      continue;
    }
    const group = `${v.audienceId}|${v.action}`;
    const found = successes.get(group) ?? { audienceId: v.audienceId, action: v.action, keys: [] };
    found.keys.push(v.userKey);
    successes.set(group, found);
  }
  await db.insertRows(
    'delivery_successes',
    SUCCESS_COLUMNS,
    [...successes.values()].map((g) => [call.id, call.accountId, g.audienceId, call.listId, g.action, g.keys.length, JSON.stringify(g.keys), call.createdAtMs]),
    '',
    manager,
  );
  await db.insertRows(
    'delivery_verdicts',
    VERDICT_COLUMNS,
    others.map((v) => [
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

/** A user's simple delivery, expanded from a `delivery_successes` row. */
export interface SuccessVerdict {
  callId: string;
  accountId: number;
  audienceId: number;
  listId: number;
  userKey: string;
  action: string;
  createdAtMs: number;
}

/** SQL true for a `delivery_successes` row holding any of `keys`: PostgreSQL's GIN index, SQLite's json_each. */
function holdsAnyKey(db: Database, keys: readonly string[]): { sql: string; params: string[] } {
  if (db.driver === 'postgres')
    return { sql: `(${keys.map(() => 'user_keys::jsonb @> ?::jsonb').join(' OR ')})`, params: keys.map((k) => JSON.stringify([k])) };
  return { sql: `EXISTS (SELECT 1 FROM json_each(delivery_successes.user_keys) j WHERE j.value IN (${placeholders(keys)}))`, params: [...keys] };
}

/**
 * The simple deliveries of these user keys (of one account, when given), newest first, at most `limit`. Ordered by
 * `created_at_ms + 0`: ordered by the column itself, PostgreSQL walked the time index backwards and tested every row
 * (6.6 s for a user lookup at 500,000 compact rows, `npm run bench:size`); this way it takes the key index and sorts
 * the few rows found.
 */
export async function successesOf(db: Database, keys: readonly string[], limit: number, accountId?: number): Promise<SuccessVerdict[]> {
  if (keys.length === 0) return [];
  const wanted = new Set(keys);
  const holds = holdsAnyKey(db, keys);
  const rows = await db.query<Record<string, string | number>>(
    `SELECT call_id, account_id, audience_id, list_id, action, user_keys, created_at_ms FROM delivery_successes
     WHERE ${accountId === undefined ? '' : 'account_id = ? AND '}${holds.sql} ORDER BY created_at_ms + 0 DESC, id DESC LIMIT ?`,
    [...(accountId === undefined ? [] : [accountId]), ...holds.params, limit],
  );
  return rows
    .flatMap((r) =>
      (JSON.parse(String(r['user_keys'])) as string[])
        .filter((k) => wanted.has(k))
        .map((userKey) => ({
          callId: String(r['call_id']),
          accountId: Number(r['account_id']),
          audienceId: Number(r['audience_id']),
          listId: Number(r['list_id']),
          userKey,
          action: String(r['action']),
          createdAtMs: Number(r['created_at_ms']),
        })),
    )
    .slice(0, limit);
}

/** Takes these user keys out of an account's compact audit (an erasure), in the caller's transaction; answers how many entries. */
export async function forgetSuccesses(db: Database, accountId: number, keys: readonly string[], manager: EntityManager): Promise<number> {
  if (keys.length === 0) return 0;
  const forget = new Set(keys);
  const holds = holdsAnyKey(db, keys);
  // Locked on PostgreSQL: two erasures taking different keys out of one row would each write back the other's key.
  // (SQLite's one writer runs the transactions one after the other.)
  const rows = await db.query<{ id: number | string; user_keys: string }>(
    `SELECT id, user_keys FROM delivery_successes WHERE account_id = ? AND ${holds.sql}${db.driver === 'postgres' ? ' FOR UPDATE' : ''}`,
    [accountId, ...holds.params],
    manager,
  );
  let removed = 0;
  for (const r of rows) {
    const all = JSON.parse(r.user_keys) as string[];
    const kept = all.filter((k) => !forget.has(k));
    removed += all.length - kept.length;
    if (kept.length === 0) await db.execute(`DELETE FROM delivery_successes WHERE id = ?`, [Number(r.id)], manager);
    else await db.execute(`UPDATE delivery_successes SET user_keys = ?, n = ? WHERE id = ?`, [JSON.stringify(kept), kept.length, Number(r.id)], manager);
  }
  return removed;
}

/**
 * Deletes the per-user verdicts naming an erased subject (by email or by userId) in these accounts; answers how many.
 * One statement per identity, each through its index (`delivery_verdicts_by_email`, `…_by_user_id`): there is no index
 * on the account, whose verdicts a read of every row would be.
 */
export async function forgetVerdicts(
  db: Database,
  accounts: readonly number[],
  subject: { emails: readonly string[]; userIds: readonly string[] },
  manager: EntityManager,
): Promise<number> {
  if (accounts.length === 0) return 0;
  let removed = 0;
  for (const [column, values] of [
    ['email', subject.emails],
    ['user_id', subject.userIds],
  ] as const) {
    if (values.length === 0) continue;
    const { affected } = await db.execute(
      `DELETE FROM delivery_verdicts WHERE ${column} IN (${placeholders(values)}) AND account_id IN (${placeholders(accounts)})`,
      [...values, ...accounts],
      manager,
    );
    removed += affected;
  }
  return removed;
}
