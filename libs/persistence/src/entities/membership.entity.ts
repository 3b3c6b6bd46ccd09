import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { MembershipAction } from '@audience-bridge/domain';
import { bigintToNumber } from './column-transformers';

/**
 * pending: the desired state is not in Iterable yet; delivered: Iterable has it; skipped: it cannot be sent
 * (see skipReason); failed: Iterable refused it or retries ran out (see lastError).
 */
export const MEMBERSHIP_STATES = ['pending', 'delivered', 'skipped', 'failed'] as const;
export type MembershipState = (typeof MEMBERSHIP_STATES)[number];

/**
 * The desired membership of one user in one audience, as the newest mParticle change says, and how far
 * its delivery got. `version` grows with every accepted change, so a delivery that started from an older
 * version never marks a newer one done.
 */
@Entity('memberships')
@Index('memberships_pending_by_list', ['accountId', 'listId', 'state'])
@Index('memberships_by_mpid', ['mpid'])
@Index('memberships_due', ['state', 'nextAttemptAt'])
export class MembershipEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @PrimaryColumn({ name: 'user_key', type: 'varchar', length: 200 })
  userKey!: string;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'varchar', length: 24, nullable: true })
  mpid!: string | null;

  @Column({ type: 'varchar', length: 8 })
  action!: MembershipAction;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 200, nullable: true })
  userId!: string | null;

  @Column({ name: 'skip_reason', type: 'varchar', length: 32, nullable: true })
  skipReason!: string | null;

  @Column({ name: 'source_message_id', type: 'varchar', length: 128 })
  sourceMessageId!: string;

  @Column({ name: 'timestamp_ms', type: 'bigint', transformer: bigintToNumber })
  timestampMs!: number;

  @Column({ type: 'varchar', length: 16 })
  state!: MembershipState;

  @Column({ type: 'integer', default: 1 })
  version!: number;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** Epoch ms before which a pending change is not retried (after a transient failure); null = now. */
  @Column({ name: 'next_attempt_at', type: 'bigint', nullable: true, transformer: bigintToNumber })
  nextAttemptAt!: number | null;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
