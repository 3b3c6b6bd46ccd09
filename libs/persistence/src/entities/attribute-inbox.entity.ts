import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * "This user's forwarded attributes may need a users/bulkUpdate": appended by ingest, read and deleted by
 * exactly id by the attributes worker (like `sync_inbox`); the worker's own recheck rows (`due_at_ms` later) are
 * postponed once when a call's answer never came.
 */
@Entity('attribute_inbox')
@Index('attribute_inbox_by_account', ['accountId', 'id'])
export class AttributeInboxEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'user_key', type: 'varchar', length: 200 })
  userKey!: string;

  @Column({ name: 'created_at_ms', type: 'bigint', transformer: bigintToNumber })
  createdAtMs!: number;

  /** Read from this time on: 0 for ingest's rows, later for the recheck of a call whose answer never came. */
  @Column({ name: 'due_at_ms', type: 'bigint', default: 0, transformer: bigintToNumber })
  dueAtMs!: number;
}
