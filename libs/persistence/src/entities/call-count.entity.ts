import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * Iterable calls recorded (`delivery_calls`) per account: all, failed (not 200, dry runs aside) and answered 429, kept
 * by the database itself: triggers on `delivery_calls` count every call recorded and pruned, so `/v1/stats` reads a
 * few rows instead of counting 30 days of calls. An account's count is the sum of its row here and of its rows in
 * `call_count_changes` (the same design as `message_counts`).
 */
@Entity('call_counts')
export class CallCountEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  failed!: number;

  @Column({ name: 'rate_limited', type: 'bigint', transformer: bigintToNumber })
  rateLimited!: number;
}

/**
 * Changes to the call counts not yet folded into `call_counts` (PostgreSQL: each statement on `delivery_calls`
 * appends its net change per account here; the worker's sweeper folds them in). SQLite updates `call_counts` directly.
 */
@Entity('call_count_changes')
export class CallCountChangeEntity {
  /** Rows live until the next fold, so a 32-bit id is enough: on PostgreSQL its sequence cycles. */
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  calls!: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  failed!: number;

  @Column({ name: 'rate_limited', type: 'bigint', transformer: bigintToNumber })
  rateLimited!: number;
}
