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

/** Folds the buckets' changes (kept-counts.ts). Run by the worker's sweeper, with the other counts. */
export async function foldDeliveryBuckets(db: Database): Promise<number> {
  return (await foldKeptCounts(db, CALL_BUCKETS)) + (await foldKeptCounts(db, OUTCOME_BUCKETS));
}

/** Drops the buckets wholly before `cutoffMs`, folded or not (the retention prune). */
export async function pruneDeliveryBuckets(db: Database, cutoffMs: number): Promise<void> {
  const before = bucketOf(cutoffMs);
  for (const counts of [CALL_BUCKETS, OUTCOME_BUCKETS])
    for (const table of [counts.changes, counts.table]) await db.execute(`DELETE FROM ${table} WHERE bucket_ms < ?`, [before]);
}
