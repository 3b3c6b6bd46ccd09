import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * The users one list call simply delivered (Iterable accepted them, nothing to say about it), for one audience
 * and action, in one row: the compact form of the audit. Everything else a call says of a user (skipped, refused,
 * a delivery with a reason such as a drift repair) keeps a whole row in `delivery_verdicts`. A row holds the user
 * keys only (the mpid, or `customer:…` / `email:…` without one): never an email or a userId, so an erasure removes
 * its subject by the keys it found (README "Delivery audit").
 */
@Entity('delivery_successes')
@Index('delivery_successes_by_call', ['callId'])
@Index('delivery_successes_by_time', ['createdAtMs'])
/** PostgreSQL only (its migration): GIN over `user_keys::jsonb`, for a user's history and an erasure. */
@Index('delivery_successes_by_user_key', { synchronize: false })
export class DeliverySuccessEntity {
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

  /** `add` or `delete`. */
  @Column({ type: 'varchar', length: 8 })
  action!: string;

  /** How many users `user_keys` holds. */
  @Column({ type: 'integer' })
  n!: number;

  /** A JSON array of the users' keys, in the order of the call. */
  @Column({ name: 'user_keys', type: 'text' })
  userKeys!: string;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintToNumber })
  createdAtMs!: number;
}
