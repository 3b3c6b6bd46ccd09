import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/** The id of every membership message accepted, so a repeated message changes nothing. */
@Entity('received_messages')
export class ReceivedMessageEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'message_id', type: 'varchar', length: 128 })
  messageId!: string;

  @Column({ name: 'change_count', type: 'integer' })
  changeCount!: number;

  /** How many times the same message came again (acknowledged, changing nothing). */
  @Column({ name: 'duplicate_count', type: 'integer', default: 0 })
  duplicateCount!: number;

  @CreateDateColumn({ name: 'received_at' })
  receivedAt!: Date;
}
