import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { MembershipAction } from '@audience-bridge/domain';
import { bigintToNumber } from './column-transformers';

/**
 * The desired membership of one user in one audience, as the newest mParticle change says. Written only by
 * ingest (the worker reads it): which Iterable list it lands in is the audience connection's current list,
 * and what Iterable has is kept apart in `list_members`, owned by the worker. The normalized `email` we send
 * is the member of a list: users (and audiences) naming the same email are one Iterable member.
 */
@Entity('memberships')
/**
 * By email, then audience: a worker looking up the members of a list (the emails of an inbox round, through the
 * connections to the list) descends straight to each email's row of that audience, however many audiences the
 * email is in; the lookups by email alone (users, erasure) use its first column.
 */
@Index('memberships_by_email', ['email', 'accountId', 'audienceId'])
/**
 * By userId, only where it is not the key: the Customer ID accounts' customer ids (a lookup or erasure by customer id).
 * In mParticle ID accounts the userId is the mpid, which is the key, found through the primary key like any key.
 */
@Index('memberships_by_customer_id', ['userId'], { where: 'user_id <> user_key' })
/** The few rows whose identity changed, by the email they named before: an erasure of that email finds them. */
@Index('memberships_by_prev_email', ['prevEmail'], { where: 'prev_email IS NOT NULL' })
/**
 * No index on the user key (or mpid) alone: a lookup by key probes the primary key once per audience connection
 * (repositories/membership-keys.ts), which holds because every membership's audience has its connection.
 */
export class MembershipEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @PrimaryColumn({ name: 'user_key', type: 'varchar', length: 200 })
  userKey!: string;

  @Column({ type: 'varchar', length: 24, nullable: true })
  mpid!: string | null;

  @Column({ type: 'varchar', length: 8 })
  action!: MembershipAction;

  /** The member key: null only when no change of this user ever named an identity Iterable could take. */
  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 200, nullable: true })
  userId!: string | null;

  /**
   * The email this row named before its last change, when that change named another (an identity change removes that
   * member); null otherwise, so a change that keeps the identity writes no indexed column (a HOT update on PostgreSQL).
   */
  @Column({ name: 'prev_email', type: 'varchar', length: 320, nullable: true })
  prevEmail!: string | null;

  /** Why the newest change names nobody Iterable could take (the previous identity, if any, is kept). */
  @Column({ name: 'skip_reason', type: 'varchar', length: 32, nullable: true })
  skipReason!: string | null;

  @Column({ name: 'source_message_id', type: 'varchar', length: 128 })
  sourceMessageId!: string;

  @Column({ name: 'timestamp_ms', type: 'bigint', transformer: bigintToNumber })
  timestampMs!: number;

  /** Grows with every accepted change. */
  @Column({ type: 'integer', default: 1 })
  version!: number;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
