import type { EntityManager } from 'typeorm';
import type { Database } from '../database';

/** Rows per multi-row INSERT (3 parameters a row). */
const ROWS_PER_STATEMENT = 1000;

/** An inbox row: one member of a list to bring to its newest state, or (no email) the whole list. */
export interface InboxRow {
  listId: number;
  email?: string;
}

/**
 * Appends rows to the sync inbox (see SyncInboxEntity). Append-only: it never waits on a row the worker
 * is settling. Inside `manager`'s transaction when given.
 */
export async function appendInbox(db: Database, rows: InboxRow[], manager?: EntityManager, now = Date.now()): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
    await db.query(
      `INSERT INTO sync_inbox (list_id, member_key, created_at_ms) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
      chunk.flatMap((r) => [r.listId, r.email ?? null, now]),
      manager,
    );
  }
}
