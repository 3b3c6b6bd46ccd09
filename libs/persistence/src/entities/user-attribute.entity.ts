import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * The desired value of one forwarded mParticle user attribute of one user (ingest's rows, like `memberships`):
 * newest `timestamp_ms` per (account, user, attribute) wins. `value` is the typed value as JSON (`null` when the
 * attribute was deleted); SQL NULL when its newest value could not be typed, and then `skip_reason` says why. `email` and
 * `user_id` are the identity the newest message gave the user, the one Iterable is sent.
 */
@Entity('user_attributes')
@Index('user_attributes_by_email', ['email'], { where: 'email IS NOT NULL' })
@Index('user_attributes_by_customer_id', ['userId'], { where: 'user_id <> user_key' })
export class UserAttributeEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'user_key', type: 'varchar', length: 200 })
  userKey!: string;

  @PrimaryColumn({ name: 'attribute_key', type: 'varchar', length: 255 })
  attributeKey!: string;

  @Column({ type: 'text', nullable: true })
  value!: string | null;

  @Column({ name: 'skip_reason', type: 'varchar', length: 32, nullable: true })
  skipReason!: string | null;

  @Column({ type: 'varchar', length: 24, nullable: true })
  mpid!: string | null;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 200, nullable: true })
  userId!: string | null;

  @Column({ name: 'source_message_id', type: 'varchar', length: 255 })
  sourceMessageId!: string;

  @Column({ name: 'timestamp_ms', type: 'bigint', transformer: bigintToNumber })
  timestampMs!: number;

  @Column({ name: 'updated_at_ms', type: 'bigint', transformer: bigintToNumber })
  updatedAtMs!: number;
}
