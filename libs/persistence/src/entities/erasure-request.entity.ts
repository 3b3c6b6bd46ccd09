import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

export const ERASURE_STATES = ['pending', 'done'] as const;
export type ErasureState = (typeof ERASURE_STATES)[number];

/**
 * One mParticle data subject request (erasure), stored before it is answered. `subject` holds the
 * identifiers to forget at Iterable (JSON: emails, userIds, the account's lists) only while the request is
 * pending: the worker forgets the subject in Iterable, removes what delivery kept of them, then clears it.
 * What stays is the request id, its times and counts: proof of the erasure without the person.
 */
@Entity('erasure_requests')
@Index('erasure_requests_by_request', ['accountId', 'subjectRequestId'], { unique: true })
@Index('erasure_requests_by_state', ['state', 'nextAttemptAtMs'])
export class ErasureRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'subject_request_id', type: 'varchar', length: 128 })
  subjectRequestId!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: ErasureState;

  /** JSON `{emails, userIds, listIds}` while pending; null once done. */
  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  /** Memberships (desired state) removed when the request was accepted. */
  @Column({ name: 'memberships_removed', type: 'integer', default: 0 })
  membershipsRemoved!: number;

  /** `users/forget` calls Iterable accepted. */
  @Column({ name: 'forget_calls', type: 'integer', default: 0 })
  forgetCalls!: number;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  @Column({ name: 'received_at_ms', type: 'bigint', transformer: bigintToNumber })
  receivedAtMs!: number;

  @Column({ name: 'next_attempt_at_ms', type: 'bigint', transformer: bigintToNumber })
  nextAttemptAtMs!: number;

  @Column({ name: 'completed_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  completedAtMs!: number | null;
}
