import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { AccountStatus, DataCenter, UserIdField } from '@audience-bridge/domain';
import { bigintToNumber } from './column-transformers';

/** One mParticle account and the Iterable project it feeds. The API key is stored only encrypted. */
@Entity('accounts')
export class AccountEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  /** AES-256-GCM ciphertext of the Iterable API key (see ApiKeyCipher); null until mParticle sends one. */
  @Column({ name: 'api_key_ciphertext', type: 'text', nullable: true })
  apiKeyCiphertext!: string | null;

  /** Keyed hash of the API key: tells whether a key changed without decrypting. */
  @Column({ name: 'api_key_fingerprint', type: 'varchar', length: 64, nullable: true })
  apiKeyFingerprint!: string | null;

  /** The last 4 characters of the key, the most any read shows. */
  @Column({ name: 'api_key_last4', type: 'varchar', length: 4, nullable: true })
  apiKeyLast4!: string | null;

  @Column({ name: 'user_id_field', type: 'varchar', length: 16 })
  userIdField!: UserIdField;

  @Column({ name: 'data_center', type: 'varchar', length: 2 })
  dataCenter!: DataCenter;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: AccountStatus;

  @Column({ name: 'suspended_reason', type: 'text', nullable: true })
  suspendedReason!: string | null;

  @Column({ name: 'dry_run', type: 'boolean', default: false })
  dryRun!: boolean;

  /**
   * Settings are newest-wins: the `timestamp_ms` of the mParticle message whose settings are in force. An
   * older message (a retry from before a key rotation) never puts its settings back.
   */
  @Column({ name: 'settings_at_ms', type: 'bigint', default: 0, transformer: bigintToNumber })
  settingsAtMs!: number;

  /** A keyed hash of the settings mParticle last sent (key, userIdField, dataCenter): only a change of them is applied. */
  @Column({ name: 'mparticle_settings', type: 'varchar', length: 64, nullable: true })
  mparticleSettings!: string | null;

  /** When an operator last changed a setting mParticle owns (admin API); it holds until mParticle's own value changes. */
  @Column({ name: 'overridden_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  overriddenAtMs!: number | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
