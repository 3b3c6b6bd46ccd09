import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * One writer per Iterable list: the worker process holding an unexpired lease is the only one that may
 * deliver to the list. A crashed holder's lease lapses at `expiresAt`.
 */
@Entity('list_leases')
export class ListLeaseEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'varchar', length: 64 })
  holder!: string;

  /** Epoch ms. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintToNumber })
  expiresAt!: number;
}
