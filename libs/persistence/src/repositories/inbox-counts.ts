import type { Database } from '../database';
import { foldKeptCounts, INBOX_COUNTS, keptCountsQuery } from './kept-counts';

/** Inbox rows waiting on one list, and the time the first of them (in arrival order) was appended. */
export interface ListBacklog {
  listId: number;
  n: number;
  oldestMs: number | null;
}

/**
 * Inbox rows waiting per list, from the counts the database keeps (triggers on `sync_inbox`, see `inbox_counts`):
 * exactly `SELECT list_id, COUNT(*) FROM sync_inbox GROUP BY list_id` (a test holds them equal), however many rows
 * wait. The age is that of each list's first waiting row by arrival (`id`, one index probe a list), which is its
 * oldest up to clock differences between API processes: taking the true MIN would read every waiting row again.
 */
export async function inboxBacklog(db: Database): Promise<ListBacklog[]> {
  const rows = await db.query<{ list_id: number | string; n: number | string; oldest: number | string | null }>(
    `SELECT k.list_id, k.n,
            (SELECT i.created_at_ms FROM sync_inbox i WHERE i.list_id = k.list_id ORDER BY i.id LIMIT 1) AS oldest
     FROM (${keptCountsQuery(INBOX_COUNTS)} HAVING SUM(n) <> 0) k
     ORDER BY k.list_id`,
  );
  return rows.map((r) => ({ listId: Number(r.list_id), n: Number(r.n), oldestMs: r.oldest === null ? null : Number(r.oldest) }));
}

/** Folds the inbox counts' changes (kept-counts.ts). Run by the worker's sweeper, with the member and message counts. */
export function foldInboxCounts(db: Database): Promise<number> {
  return foldKeptCounts(db, INBOX_COUNTS);
}
