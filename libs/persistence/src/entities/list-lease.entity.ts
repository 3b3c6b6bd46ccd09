import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * One row per Iterable list, owned by the workers. The lease: the delivery holding an unexpired lease is
 * the only one that may call Iterable for the list (list ids are unique across Iterable, so two accounts
 * feeding one list share it). `generation` grows with every take-over and fences every call: a delivery
 * whose generation is no longer the row's sends nothing. The backoff: after a transient failure the list
 * waits until `next_attempt_at`; `failing_since` says how long it has been failing.
 */
@Entity('list_leases')
export class ListLeaseEntity {
  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  holder!: string | null;

  @Column({ type: 'integer', default: 0 })
  generation!: number;

  /** Epoch ms. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintToNumber })
  expiresAt!: number;

  /** The account whose API key last delivered the list: still used when no connection maps to it any more. */
  @Column({ name: 'account_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  accountId!: number | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'bigint', nullable: true, transformer: bigintToNumber })
  nextAttemptAt!: number | null;

  @Column({ name: 'failing_since', type: 'bigint', nullable: true, transformer: bigintToNumber })
  failingSince!: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /**
   * The members of the call in flight (a JSON array of member keys), written by the fencing check right
   * before the call and cleared when it is settled. A delivery that takes over from a holder that died
   * mid-call finds them here: their outcome is unknown, so they are sent again and rechecked.
   */
  @Column({ name: 'in_flight', type: 'text', nullable: true })
  inFlight!: string | null;
}
