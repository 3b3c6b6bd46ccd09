import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/** One user's verdict in one Iterable call: delivered, skipped with a reason, or failed with Iterable's reason. */
@Entity('delivery_verdicts')
@Index('delivery_verdicts_by_call', ['callId'])
@Index('delivery_verdicts_by_mpid', ['mpid'])
@Index('delivery_verdicts_without_mpid', ['userKey'], { where: 'mpid IS NULL' })
@Index('delivery_verdicts_by_time', ['createdAtMs'])
@Index('delivery_verdicts_by_email', ['email'], { where: 'email IS NOT NULL' })
@Index('delivery_verdicts_by_user_id', ['userId'], { where: 'user_id IS NOT NULL' })
export class DeliveryVerdictEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'call_id', type: 'varchar', length: 36 })
  callId!: string;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ name: 'user_key', type: 'varchar', length: 200 })
  userKey!: string;

  @Column({ type: 'varchar', length: 24, nullable: true })
  mpid!: string | null;

  @Column({ type: 'varchar', length: 8 })
  action!: string;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 200, nullable: true })
  userId!: string | null;

  /** `delivered`, `skipped` or `failed`. */
  @Column({ type: 'varchar', length: 12 })
  outcome!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: string | null;

  @Column({ type: 'boolean', default: false })
  retryable!: boolean;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintToNumber })
  createdAtMs!: number;
}
