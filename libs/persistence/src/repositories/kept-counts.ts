import type { Database } from '../database';

/**
 * A count the database keeps instead of counting rows per request (DESIGN.md "Counts that grow with the customer"):
 * triggers on the counted table keep `table` per `keys`; on PostgreSQL each statement appends its net change to
 * `changes` instead (no writer waits on a shared counter row) and the worker's sweeper folds them in; SQLite's one
 * writer updates `table` directly and `changes` stays empty.
 */
export interface KeptCounts {
  table: string;
  changes: string;
  keys: readonly string[];
  sums: readonly string[];
}

export const LIST_MEMBER_COUNTS: KeptCounts = { table: 'list_member_counts', changes: 'list_member_count_changes', keys: ['list_id', 'state'], sums: ['n'] };
export const MESSAGE_COUNTS: KeptCounts = { table: 'message_counts', changes: 'message_count_changes', keys: ['account_id'], sums: ['accepted', 'duplicates'] };
export const INBOX_COUNTS: KeptCounts = { table: 'inbox_counts', changes: 'inbox_count_changes', keys: ['list_id'], sums: ['n'] };
export const CALL_COUNTS: KeptCounts = { table: 'call_counts', changes: 'call_count_changes', keys: ['account_id'], sums: ['calls', 'failed', 'rate_limited'] };
/** Per quarter hour (delivery-buckets.ts): counted as the audit rows are inserted, never taken back. */
export const CALL_BUCKETS: KeptCounts = {
  table: 'call_buckets',
  changes: 'call_bucket_changes',
  keys: ['bucket_ms'],
  sums: ['calls', 'failed_calls', 'dry_run_calls', 'adds', 'removes'],
};
export const OUTCOME_BUCKETS: KeptCounts = {
  table: 'outcome_buckets',
  changes: 'outcome_bucket_changes',
  keys: ['bucket_ms', 'account_id', 'audience_id', 'list_id'],
  sums: ['adds', 'removes', 'failed'],
};

/**
 * The counts as they are now, folded or not (both tables read in one statement, so in one snapshot), summed by `by`
 * (some of the keys, or none for the totals): `SELECT <by>, SUM(<sum>) AS <sum> … GROUP BY <by>`; `where` (on the
 * keys) filters both tables.
 */
export function keptCountsQuery(counts: KeptCounts, by: readonly string[] = counts.keys, where = ''): string {
  const columns = [...counts.keys, ...counts.sums].join(', ');
  const filter = where ? ` WHERE ${where}` : '';
  return (
    `SELECT ${[...by, ...counts.sums.map((s) => `SUM(${s}) AS ${s}`)].join(', ')} FROM (` +
    `SELECT ${columns} FROM ${counts.table}${filter} UNION ALL SELECT ${columns} FROM ${counts.changes}${filter}) x` +
    (by.length > 0 ? ` GROUP BY ${by.join(', ')}` : '')
  );
}

/**
 * Folds the changes counted since the last fold into the counts (PostgreSQL; SQLite has none): one statement, so a
 * reader sees the counts before or after it, never both, and rows in key order, so two sweepers folding at once
 * cannot deadlock. Answers how many change rows it folded.
 */
export async function foldKeptCounts(db: Database, counts: KeptCounts): Promise<number> {
  if (db.driver !== 'postgres') return 0;
  const { table, changes, keys, sums } = counts;
  const [row] = await db.query<{ n: number | string }>(
    `WITH moved AS (DELETE FROM ${changes} RETURNING ${[...keys, ...sums].join(', ')}),
     folded AS (
       INSERT INTO ${table} (${[...keys, ...sums].join(', ')})
       SELECT ${[...keys, ...sums.map((s) => `SUM(${s})`)].join(', ')} FROM moved GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}
       ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${sums.map((s) => `${s} = ${table}.${s} + excluded.${s}`).join(', ')}
       RETURNING 1)
     SELECT (SELECT COUNT(*) FROM moved) AS n`,
  );
  return Number(row?.n ?? 0);
}
