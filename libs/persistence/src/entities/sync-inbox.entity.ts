import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * "This member of this list may need a call": the only table both sides write, and neither ever updates a
 * row of it. Ingest (and settings changes) append; the list's worker reads the oldest rows, brings each
 * named member to its newest desired state, and deletes exactly the rows it read. `member_key` null asks
 * for the whole list (after a list id, dry run or suspension change): the worker expands it into one row
 * per member it has to look at. Rows are short-lived, so a 32-bit id is enough: on PostgreSQL its sequence
 * cycles (rows are deleted by exact id, and the order only decides which waiting row goes first).
 */
@Entity('sync_inbox')
@Index('sync_inbox_by_list', ['listId', 'id'])
export class SyncInboxEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ name: 'member_key', type: 'varchar', length: 320, nullable: true })
  memberKey!: string | null;

  /** Epoch ms: the age of the oldest row is the delivery lag. */
  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintToNumber })
  createdAtMs!: number;
}
