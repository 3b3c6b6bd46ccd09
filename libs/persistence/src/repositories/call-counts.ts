import type { Database } from '../database';
import { CALL_COUNTS, foldKeptCounts, keptCountsQuery } from './kept-counts';

/**
 * Iterable calls recorded (within retention): all of them, those that failed (not 200, dry runs aside) and those
 * answered 429, from the counts the database keeps (triggers on `delivery_calls`, see `call_counts`): a few rows
 * however many calls there are. Exactly what counting `delivery_calls` gives (a test holds them equal).
 */
export async function callCounts(db: Database): Promise<{ calls: number; failedCalls: number; rateLimited: number }> {
  const [row] = await db.query<{ calls: number | string | null; failed: number | string | null; rate_limited: number | string | null }>(
    keptCountsQuery(CALL_COUNTS, []),
  );
  return { calls: Number(row?.calls ?? 0), failedCalls: Number(row?.failed ?? 0), rateLimited: Number(row?.rate_limited ?? 0) };
}

/** Folds the call counts' changes (kept-counts.ts). Run by the worker's sweeper, with the other counts. */
export function foldCallCounts(db: Database): Promise<number> {
  return foldKeptCounts(db, CALL_COUNTS);
}
