import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * The attributes worker's lease on an account (one writer per account's users/bulkUpdate calls) and its
 * backoff after a transient failure. The worker's rows only.
 */
@Entity('attribute_leases')
export class AttributeLeaseEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  holder!: string | null;

  @Column({ name: 'expires_at_ms', type: 'bigint', transformer: bigintToNumber })
  expiresAtMs!: number;

  @Column({ name: 'next_attempt_at_ms', type: 'bigint', transformer: bigintToNumber })
  nextAttemptAtMs!: number;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;
}
