import type { EntityManager } from 'typeorm';
import type { Database } from '../database';

/** What `work` read of one table, from PostgreSQL's statistics of the transaction it ran in. */
export interface TableReads<T> {
  result: T;
  /** Rows read sequentially or fetched through an index. */
  rows: number;
  seqScans: number;
  indexScans: number;
}

/**
 * Runs `work` in a transaction and answers what it read of `table` there (`pg_stat_xact_user_tables`, before and after:
 * the backend's counts may still hold an earlier transaction's). A test that a read goes through an index, not the
 * table, whatever the machine's speed. PostgreSQL only: on SQLite every count is 0.
 */
export async function tableReads<T>(db: Database, table: string, work: (manager: EntityManager) => Promise<T>): Promise<TableReads<T>> {
  return db.transaction(async (manager) => {
    const read = async () => {
      if (db.driver !== 'postgres') return { rows: 0, seqScans: 0, indexScans: 0 };
      const [row] = await db.query<{ rows: string | number; seq: string | number; idx: string | number | null }>(
        `SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS rows, seq_scan AS seq, COALESCE(idx_scan, 0) AS idx
         FROM pg_stat_xact_user_tables WHERE relname = ?`,
        [table],
        manager,
      );
      return { rows: Number(row?.rows ?? 0), seqScans: Number(row?.seq ?? 0), indexScans: Number(row?.idx ?? 0) };
    };
    const before = await read();
    const result = await work(manager);
    const after = await read();
    return { result, rows: after.rows - before.rows, seqScans: after.seqScans - before.seqScans, indexScans: after.indexScans - before.indexScans };
  });
}
