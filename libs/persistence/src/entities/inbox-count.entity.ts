import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * Inbox rows (`sync_inbox`) waiting per list, kept by the database itself: triggers on `sync_inbox` count every row
 * ingest appends and every row the worker settles, so the console, `/v1/stats` and `/metrics` read a few rows instead
 * of counting millions of waiting rows after an outage. A list's count is the sum of its row here and of its rows in
 * `inbox_count_changes` (the same design as `list_member_counts`).
 */
@Entity('inbox_counts')
export class InboxCountEntity {
  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  n!: number;
}

/**
 * Changes to the inbox counts not yet folded into `inbox_counts` (PostgreSQL: each statement on `sync_inbox` appends
 * its net change per list here, so concurrent ingest never waits on a shared counter row; the worker's sweeper folds
 * them in). SQLite has one writer and updates `inbox_counts` directly.
 */
@Entity('inbox_count_changes')
export class InboxCountChangeEntity {
  /** Rows live until the next fold, so a 32-bit id is enough: on PostgreSQL its sequence cycles. */
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  n!: number;
}
