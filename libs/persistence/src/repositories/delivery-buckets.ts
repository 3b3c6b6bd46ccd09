import type { Database } from '../database';
import { CALL_BUCKETS, foldKeptCounts, keptCountsQuery, OUTCOME_BUCKETS, type KeptCounts } from './kept-counts';

/** The buckets' width: a quarter hour from the epoch (migration DeliveryBuckets1797001900000). */
export const DELIVERY_BUCKET_MS = 900_000;

/** Start of the bucket holding `ms`. */
export function bucketOf(ms: number): number {
  return ms - (((ms % DELIVERY_BUCKET_MS) + DELIVERY_BUCKET_MS) % DELIVERY_BUCKET_MS);
}

/**
 * SQL and parameters of kept quarter hours in [fromMs, toMs) summed per window bucket of `bucketMs` (a multiple of
 * a quarter hour, from `fromMs`): a column `b` (0 for the first) and `select`'s sums of the counts' columns.
 */
export function perWindowBucket(counts: KeptCounts, select: string, fromMs: number, toMs: number, bucketMs: number): { sql: string; params: number[] } {
  return {
    sql:
      `SELECT CAST((bucket_ms - ?) / ? AS INTEGER) AS b, ${select} ` +
      `FROM (${keptCountsQuery(counts, ['bucket_ms'], 'bucket_ms >= ? AND bucket_ms < ?')}) k GROUP BY b`,
    params: [fromMs, bucketMs, fromMs, toMs, fromMs, toMs],
  };
}

/**
 * SQL and parameters of members delivered per audience connection since `fromMs` (a bucket boundary): columns
 * account_id, audience_id, list_id, adds, removes, failed.
 */
export function outcomesSince(fromMs: number): { sql: string; params: number[] } {
  return { sql: keptCountsQuery(OUTCOME_BUCKETS, ['account_id', 'audience_id', 'list_id'], 'bucket_ms >= ?'), params: [fromMs, fromMs] };
}

/** Folds the buckets' changes (kept-counts.ts) and the calls per second. Run by the worker's sweeper, with the other counts. */
export async function foldDeliveryBuckets(db: Database): Promise<number> {
  return (await foldKeptCounts(db, CALL_BUCKETS)) + (await foldKeptCounts(db, OUTCOME_BUCKETS)) + (await foldCallSeconds(db));
}

/**
 * Folds `call_second_changes` into `call_seconds` and raises each quarter hour's peak in `call_peaks` to any folded
 * second that passed it (PostgreSQL; SQLite's trigger does both at once). One statement, rows in key order, as
 * `foldKeptCounts`: two sweepers folding the same second at once each add to the row as the other left it, and the
 * later one raises the peak with the sum. Answers how many change rows it folded.
 */
async function foldCallSeconds(db: Database): Promise<number> {
  if (db.driver !== 'postgres') return 0;
  const bucket = `second_ms - second_ms % ${DELIVERY_BUCKET_MS}`;
  const [row] = await db.query<{ n: number | string }>(
    `WITH moved AS (DELETE FROM call_second_changes RETURNING second_ms, account_id, calls),
     folded AS (
       INSERT INTO call_seconds (second_ms, account_id, calls)
       SELECT second_ms, account_id, SUM(calls) FROM moved GROUP BY second_ms, account_id ORDER BY second_ms, account_id
       ON CONFLICT (second_ms, account_id) DO UPDATE SET calls = call_seconds.calls + excluded.calls
       RETURNING second_ms, account_id, calls),
     raised AS (
       INSERT INTO call_peaks (bucket_ms, account_id, second_ms, calls)
       SELECT DISTINCT ON (${bucket}, account_id) ${bucket}, account_id, second_ms, calls FROM folded
       ORDER BY ${bucket}, account_id, calls DESC, second_ms
       ON CONFLICT (bucket_ms, account_id) DO UPDATE SET second_ms = excluded.second_ms, calls = excluded.calls WHERE excluded.calls > call_peaks.calls)
     SELECT COUNT(*) AS n FROM moved`,
  );
  return Number(row?.n ?? 0);
}

/**
 * The busiest calendar second since `sinceMs` (whole seconds from it) of any account, folded or not: the peaks of
 * the whole quarter hours, the seconds of the part of one before them, and every second with changes not yet folded
 * (its folded count and its changes summed). One statement, so one snapshot: a fold in between is seen wholly or not.
 */
export async function busiestSecond(db: Database, sinceMs: number): Promise<{ accountId: number; calls: number } | undefined> {
  const since = Math.ceil(sinceMs / 1000) * 1000;
  const whole = Math.ceil(since / DELIVERY_BUCKET_MS) * DELIVERY_BUCKET_MS;
  const [row] = await db.query<{ account_id: number | string; calls: number | string }>(
    `SELECT account_id, calls FROM (
       SELECT account_id, calls FROM call_peaks WHERE bucket_ms >= ?
       UNION ALL
       SELECT account_id, calls FROM call_seconds WHERE second_ms >= ? AND second_ms < ?
       UNION ALL
       SELECT account_id, SUM(calls) AS calls FROM (
         SELECT second_ms, account_id, calls FROM call_second_changes WHERE second_ms >= ?
         UNION ALL
         SELECT s.second_ms, s.account_id, s.calls FROM call_seconds s
           JOIN (SELECT DISTINCT second_ms, account_id FROM call_second_changes WHERE second_ms >= ?) c
             ON c.second_ms = s.second_ms AND c.account_id = s.account_id
       ) pending GROUP BY second_ms, account_id
     ) x ORDER BY calls DESC, account_id LIMIT 1`,
    [whole, since, whole, since, since],
  );
  return row ? { accountId: Number(row.account_id), calls: Number(row.calls) } : undefined;
}

/** How long calls per second are kept: the longest window that reads them is a day. */
const CALL_SECONDS_KEPT_MS = 2 * 86_400_000;

/**
 * Drops the buckets wholly before `cutoffMs`, folded or not (the retention prune), and calls per second and their
 * peaks older than two days.
 */
export async function pruneDeliveryBuckets(db: Database, cutoffMs: number, now = Date.now()): Promise<void> {
  const before = bucketOf(cutoffMs);
  for (const counts of [CALL_BUCKETS, OUTCOME_BUCKETS])
    for (const table of [counts.changes, counts.table]) await db.execute(`DELETE FROM ${table} WHERE bucket_ms < ?`, [before]);
  const seconds = Math.max(before, bucketOf(now - CALL_SECONDS_KEPT_MS));
  for (const table of ['call_second_changes', 'call_seconds']) await db.execute(`DELETE FROM ${table} WHERE second_ms < ?`, [seconds]);
  await db.execute(`DELETE FROM call_peaks WHERE bucket_ms < ?`, [seconds]);
}
