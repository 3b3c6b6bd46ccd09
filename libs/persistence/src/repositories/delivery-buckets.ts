import type { Database } from '../database';
import { CALL_BUCKETS, foldKeptCounts, keptCountsQuery, OUTCOME_BUCKETS } from './kept-counts';

/** The buckets' width: a quarter hour from the epoch (migration DeliveryBuckets1797001900000). */
export const DELIVERY_BUCKET_MS = 900_000;

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);

/** Start of the bucket holding `ms`. */
export function bucketOf(ms: number): number {
  return ms - (((ms % DELIVERY_BUCKET_MS) + DELIVERY_BUCKET_MS) % DELIVERY_BUCKET_MS);
}

export interface CallBucket {
  bucketMs: number;
  calls: number;
  failedCalls: number;
  dryRunCalls: number;
  adds: number;
  removes: number;
}

/** Iterable calls per quarter hour in [fromMs, toMs) (both on bucket boundaries): a row per bucket with calls. */
export async function callBuckets(db: Database, fromMs: number, toMs: number): Promise<CallBucket[]> {
  const rows = await db.query<Row>(keptCountsQuery(CALL_BUCKETS, ['bucket_ms'], 'bucket_ms >= ? AND bucket_ms < ?'), [fromMs, toMs, fromMs, toMs]);
  return rows.map((r) => ({
    bucketMs: num(r['bucket_ms']),
    calls: num(r['calls']),
    failedCalls: num(r['failed_calls']),
    dryRunCalls: num(r['dry_run_calls']),
    adds: num(r['adds']),
    removes: num(r['removes']),
  }));
}

/** Members refused for good per quarter hour in [fromMs, toMs), all connections together. */
export async function refusedByBucket(db: Database, fromMs: number, toMs: number): Promise<Map<number, number>> {
  const rows = await db.query<Row>(keptCountsQuery(OUTCOME_BUCKETS, ['bucket_ms'], 'bucket_ms >= ? AND bucket_ms < ?'), [fromMs, toMs, fromMs, toMs]);
  return new Map(rows.map((r) => [num(r['bucket_ms']), num(r['failed'])]));
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
