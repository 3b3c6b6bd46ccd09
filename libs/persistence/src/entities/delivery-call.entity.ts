import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/** One Iterable call (or, in dry run, one call that would have been made): the delivery audit log. */
@Entity('delivery_calls')
@Index('delivery_calls_by_time', ['createdAtMs'])
@Index('delivery_calls_by_list', ['accountId', 'listId', 'createdAtMs'])
@Index('delivery_calls_last_success', ['accountId', 'listId', 'createdAtMs'], { where: 'http_status = 200 AND NOT dry_run' })
export class DeliveryCallEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  /** `subscribe` or `unsubscribe`. */
  @Column({ type: 'varchar', length: 12 })
  action!: string;

  @Column({ name: 'subscriber_count', type: 'integer' })
  subscriberCount!: number;

  /** Null for network errors and dry runs. */
  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus!: number | null;

  @Column({ name: 'success_count', type: 'integer' })
  successCount!: number;

  @Column({ name: 'failure_count', type: 'integer' })
  failureCount!: number;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'dry_run', type: 'boolean', default: false })
  dryRun!: boolean;

  /** Epoch ms when the call was made. */
  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintToNumber })
  createdAtMs!: number;
}
