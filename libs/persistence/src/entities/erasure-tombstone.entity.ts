import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * What stays of an erased data subject (README "Erasure"): per identifier, a keyed hash (HMAC-SHA256 under a
 * key derived from ENCRYPTION_KEY, `ApiKeyCipher.identityHashes`) and the erasure's time, never the identifier.
 * A membership or attribute change naming a hashed identifier and stamped at or before that time is
 * acknowledged, counted and dropped; one stamped after it is a new consent.
 */
@Entity('erasure_tombstones')
export class ErasureTombstoneEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  /** Hex HMAC of `<kind>:<identifier>` (kind `email`, `customer` or `mpid`). */
  @PrimaryColumn({ name: 'identity_hash', type: 'varchar', length: 64 })
  identityHash!: string;

  /** The erasure's `timestamp_ms` (the newest, when one subject is erased twice). */
  @Column({ name: 'erased_at_ms', type: 'bigint', transformer: bigintToNumber })
  erasedAtMs!: number;
}
