import { Database } from '../database';

/** Members of one list in one state, as `list_member_counts` keeps them (see its entity). */
export interface ListMemberCount {
  listId: number;
  state: string;
  n: number;
}

/**
 * Members per list and state, read from the counts the database keeps (triggers on `list_members`): a few rows
 * however many members there are. Exactly `SELECT list_id, state, COUNT(*) FROM list_members GROUP BY list_id, state`
 * (a test holds them equal), less the lists and states with no member.
 */
export async function listMemberCounts(db: Database): Promise<ListMemberCount[]> {
  const rows = await db.query<{ list_id: number | string; state: string; n: number | string }>(
    `SELECT list_id, state, SUM(n) AS n FROM (
       SELECT list_id, state, n FROM list_member_counts UNION ALL SELECT list_id, state, n FROM list_member_count_changes
     ) x GROUP BY list_id, state HAVING SUM(n) <> 0`,
  );
  return rows.map((r) => ({ listId: Number(r.list_id), state: String(r.state), n: Number(r.n) }));
}

/**
 * Folds the changes counted since the last fold into `list_member_counts` (PostgreSQL appends them per statement;
 * SQLite has none): one statement, so a reader sees the counts before or after it, never both. Answers how many
 * change rows it folded. Run by the worker's sweeper.
 */
export async function foldListMemberCounts(db: Database): Promise<number> {
  if (db.driver !== 'postgres') return 0;
  const [row] = await db.query<{ n: number | string }>(
    `WITH moved AS (DELETE FROM list_member_count_changes RETURNING list_id, state, n),
     folded AS (
       INSERT INTO list_member_counts (list_id, state, n)
       SELECT list_id, state, SUM(n) FROM moved GROUP BY list_id, state ORDER BY list_id, state
       ON CONFLICT (list_id, state) DO UPDATE SET n = list_member_counts.n + excluded.n
       RETURNING 1)
     SELECT (SELECT COUNT(*) FROM moved) AS n`,
  );
  return Number(row?.n ?? 0);
}
