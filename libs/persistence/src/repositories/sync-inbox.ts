import type { EntityManager } from 'typeorm';
import type { Database } from '../database';

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
  await db.insertRows(
    'sync_inbox',
    [
      { name: 'list_id', type: 'bigint' },
      { name: 'member_key', type: 'text' },
      { name: 'created_at_ms', type: 'bigint' },
    ],
    rows.map((r) => [r.listId, r.email ?? null, now]),
    '',
    manager,
  );
}

/** Member key order: the order every writer of a list's `list_members` rows takes them in (no deadlocks). */
export const byMemberKey = (a: { memberKey: string }, b: { memberKey: string }): number => (a.memberKey < b.memberKey ? -1 : a.memberKey > b.memberKey ? 1 : 0);
