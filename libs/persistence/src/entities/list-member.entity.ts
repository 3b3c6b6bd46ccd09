import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/** What we know Iterable has for one member of one list. */
export const LIST_MEMBER_STATES = ['subscribed', 'unsubscribed', 'unknown', 'failed'] as const;
export type ListMemberState = (typeof LIST_MEMBER_STATES)[number];

/**
 * A member's `reason` when Iterable refused to re-address its user (hybrid and userId-based projects) and it went on
 * the list by its userId alone: that Iterable user still holds an email the member had before.
 */
export const SENT_BY_USER_ID = 'sent by userId (conflict)';

/**
 * One member (a normalized email) of one Iterable list as the worker last left it: written only by the
 * list's worker. `subscribed`/`unsubscribed`: Iterable confirmed it; `unknown`: a call whose answer we never
 * saw (its newest state is sent again, and once more after `recheck_at_ms`, the late-apply window);
 * `failed`: Iterable refused it for good (`reason`).
 */
@Entity('list_members')
/**
 * Only the rows that hold something: a recheck planned (most members have none), a member refused for good (what a
 * replay sends again). Whole-column indexes on these cost every member an entry, and every settled change another.
 */
@Index('list_members_recheck_due', ['listId', 'recheckAtMs'], { where: 'recheck_at_ms IS NOT NULL' })
@Index('list_members_failed', ['listId'], { where: "state = 'failed'" })
@Index('list_members_by_user', ['listId', 'userId'])
export class ListMemberEntity {
  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @PrimaryColumn({ name: 'member_key', type: 'varchar', length: 320 })
  memberKey!: string;

  /** The identity Iterable has (or was last sent): email and userId. */
  @Column({ type: 'varchar', length: 320 })
  email!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 200, nullable: true })
  userId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  state!: ListMemberState;

  @Column({ type: 'varchar', length: 64, nullable: true })
  reason!: string | null;

  @Column({ name: 'recheck_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  recheckAtMs!: number | null;

  @Column({ name: 'updated_at_ms', type: 'bigint', transformer: bigintToNumber })
  updatedAtMs!: number;

  /** Iterable once confirmed a subscribe of this member that we sent: it is ours (a drift repair, repairExtras `ours`, may remove it). Never cleared. */
  @Column({ name: 'ever_subscribed', type: 'boolean', default: false })
  everSubscribed!: boolean;
}
