import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * "This user's forwarded attributes may need a users/bulkUpdate": appended by ingest, read and deleted by
 * exactly id by the attributes worker, never updated (like `sync_inbox`).
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
}
