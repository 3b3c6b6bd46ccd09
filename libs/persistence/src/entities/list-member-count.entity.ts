import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * How many members of a list are in each state (`list_members.state`), kept by the database itself: triggers on
 * `list_members` count every insert, state change and delete, so `/v1/stats` and `/v1/connections` read a few
 * rows instead of counting millions. The count of a list and state is the sum of its row here and of its
 * rows in `list_member_count_changes`.
 */
@Entity('list_member_counts')
export class ListMemberCountEntity {
  @PrimaryColumn({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  state!: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  n!: number;
}

/**
 * Changes to the counts not yet folded into `list_member_counts` (PostgreSQL: each statement on `list_members`
 * appends its net change per list and state here, so concurrent writers never wait on a shared counter row; the
 * worker's sweeper folds them in). SQLite has one writer and updates `list_member_counts` directly.
 */
@Entity('list_member_count_changes')
export class ListMemberCountChangeEntity {
  /** Rows live until the next fold, so a 32-bit id is enough: on PostgreSQL its sequence cycles. */
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'varchar', length: 16 })
  state!: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  n!: number;
}
