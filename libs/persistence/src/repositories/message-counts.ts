import type { Database } from '../database';
import { foldKeptCounts, keptCountsQuery, MESSAGE_COUNTS } from './kept-counts';

/**
 * Membership messages remembered (within retention) and the repeats of them acknowledged, from the counts the
 * database keeps (triggers on `received_messages`, see `message_counts`): a few rows however many messages there
 * are. Exactly `SELECT COUNT(*), SUM(duplicate_count) FROM received_messages` (a test holds them equal).
 */
export async function messageCounts(db: Database): Promise<{ accepted: number; duplicates: number }> {
  const [row] = await db.query<{ accepted: number | string | null; duplicates: number | string | null }>(keptCountsQuery(MESSAGE_COUNTS, []));
  return { accepted: Number(row?.accepted ?? 0), duplicates: Number(row?.duplicates ?? 0) };
}

/** Folds the message counts' changes (kept-counts.ts). Run by the worker's sweeper, with the member counts. */
export function foldMessageCounts(db: Database): Promise<number> {
  return foldKeptCounts(db, MESSAGE_COUNTS);
}
