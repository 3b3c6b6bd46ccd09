import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * The id of every membership message accepted, so a repeated message changes nothing, and its `timestamp_ms`:
 * every membership message carries the account's settings, so the newest one received is the newest statement
 * of them, whether or not it changed them (an older message's settings never replace them). The same for the
 * audiences' lists it names (`stated_audiences`).
 */
@Entity('received_messages')
@Index('received_messages_by_time', ['accountId', 'timestampMs'])
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

  /** The message's `timestamp_ms` (null for messages received before it was kept). */
  @Column({ name: 'timestamp_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  timestampMs!: number | null;

  /**
   * The audiences whose list the message named (`,10,20,`; null for none), so that an older message arriving later
   * cannot move an audience this one stated, even when this one only restated the list in force.
   */
  @Column({ name: 'stated_audiences', type: 'text', nullable: true })
  statedAudiences!: string | null;

  @CreateDateColumn({ name: 'received_at' })
  receivedAt!: Date;
}
