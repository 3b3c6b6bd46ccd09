import { Database } from '../database';
import { foldKeptCounts, keptCountsQuery, LIST_MEMBER_COUNTS } from './kept-counts';

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
  const rows = await db.query<{ list_id: number | string; state: string; n: number | string }>(`${keptCountsQuery(LIST_MEMBER_COUNTS)} HAVING SUM(n) <> 0`);
  return rows.map((r) => ({ listId: Number(r.list_id), state: String(r.state), n: Number(r.n) }));
}

/** Folds the member counts' changes (kept-counts.ts). Run by the worker's sweeper. */
export function foldListMemberCounts(db: Database): Promise<number> {
  return foldKeptCounts(db, LIST_MEMBER_COUNTS);
}
