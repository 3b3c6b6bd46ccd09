import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * Membership messages remembered (`received_messages`) per account, and the repeats of them acknowledged, kept by the
 * database itself: triggers on `received_messages` count every insert, repeat and prune, so `/v1/stats` reads a few
 * rows instead of counting millions of message ids. An account's count is the sum of its row here and of its rows in
 * `message_count_changes` (the same design as `list_member_counts`).
 */
@Entity('message_counts')
export class MessageCountEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  accepted!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  duplicates!: number;
}

/**
 * Changes to the message counts not yet folded into `message_counts` (PostgreSQL: each statement on
 * `received_messages` appends its net change per account here, so concurrent ingest never waits on a shared counter
 * row; the worker's sweeper folds them in). SQLite has one writer and updates `message_counts` directly.
 */
@Entity('message_count_changes')
export class MessageCountChangeEntity {
  /** Rows live until the next fold, so a 32-bit id is enough: on PostgreSQL its sequence cycles. */
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  accepted!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  duplicates!: number;
}
