import type { Database } from '../database';

/**
 * Membership messages remembered (within retention) and the repeats of them acknowledged, from the counts the
 * database keeps (triggers on `received_messages`, see `message_counts`): a few rows however many messages there
 * are. Exactly `SELECT COUNT(*), SUM(duplicate_count) FROM received_messages` (a test holds them equal).
 */
export async function messageCounts(db: Database): Promise<{ accepted: number; duplicates: number }> {
  const [row] = await db.query<{ a: number | string | null; d: number | string | null }>(
    `SELECT SUM(accepted) AS a, SUM(duplicates) AS d FROM (
       SELECT accepted, duplicates FROM message_counts UNION ALL SELECT accepted, duplicates FROM message_count_changes
     ) x`,
  );
  return { accepted: Number(row?.a ?? 0), duplicates: Number(row?.d ?? 0) };
}

/**
 * Folds the changes counted since the last fold into `message_counts` (PostgreSQL appends them per statement; SQLite
 * has none): one statement, so a reader sees the counts before or after it, never both. Answers how many change rows
 * it folded. Run by the worker's sweeper, with the member counts.
 */
export async function foldMessageCounts(db: Database): Promise<number> {
  if (db.driver !== 'postgres') return 0;
  const [row] = await db.query<{ n: number | string }>(
    `WITH moved AS (DELETE FROM message_count_changes RETURNING account_id, accepted, duplicates),
     folded AS (
       INSERT INTO message_counts (account_id, accepted, duplicates)
       SELECT account_id, SUM(accepted), SUM(duplicates) FROM moved GROUP BY account_id ORDER BY account_id
       ON CONFLICT (account_id) DO UPDATE SET accepted = message_counts.accepted + excluded.accepted,
                                               duplicates = message_counts.duplicates + excluded.duplicates
       RETURNING 1)
     SELECT (SELECT COUNT(*) FROM moved) AS n`,
  );
  return Number(row?.n ?? 0);
}
