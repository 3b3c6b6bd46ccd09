import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ConnectionStatus } from '@audience-bridge/domain';
import { bigintToNumber } from './column-transformers';

/** One mParticle audience forwarded into one Iterable list. */
@Entity('audience_connections')
export class AudienceConnectionEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @PrimaryColumn({ name: 'audience_id', type: 'bigint', transformer: bigintToNumber })
  audienceId!: number;

  @Column({ name: 'audience_name', type: 'varchar', length: 255 })
  audienceName!: string;

  @Column({ name: 'list_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  listId!: number | null;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: ConnectionStatus;

  /** The `timestamp_ms` of the mParticle message whose list id is in force (newest wins). */
  @Column({ name: 'settings_at_ms', type: 'bigint', default: 0, transformer: bigintToNumber })
  settingsAtMs!: number;

  /** The list id mParticle last sent: only a change of it moves the audience (an operator's choice holds till then). */
  @Column({ name: 'mparticle_list_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  mparticleListId!: number | null;

  /** When an operator last set the list id through the admin API. */
  @Column({ name: 'overridden_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  overriddenAtMs!: number | null;

  @Column({ name: 'suspended_reason', type: 'text', nullable: true })
  suspendedReason!: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
