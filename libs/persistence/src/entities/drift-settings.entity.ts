import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';
import type { DriftIdentifier, DriftRepairExtras } from './drift-report.entity';

/** An account's drift check settings (an operator's, through the admin API): how its lists are read, and a schedule (off by default). */
@Entity('drift_settings')
export class DriftSettingsEntity {
  @PrimaryColumn({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  /** `email` (email-based and hybrid projects) or `userId` (userId-based projects: the read asks preferUserId). */
  @Column({ type: 'varchar', length: 8, default: 'email' })
  identifier!: DriftIdentifier;

  /** Check every list of the account this often, in hours; null: never on a schedule. */
  @Column({ name: 'schedule_hours', type: 'integer', nullable: true })
  scheduleHours!: number | null;

  /** Scheduled checks repair what they find (else they only report). */
  @Column({ name: 'schedule_repair', type: 'boolean', default: false })
  scheduleRepair!: boolean;

  /** Which extra members a repair unsubscribes (the default of asked checks and of scheduled ones): `ours` or `all`. */
  @Column({ name: 'repair_extras', type: 'varchar', length: 8, default: 'ours' })
  repairExtras!: DriftRepairExtras;

  /** When the schedule last started the account's checks (claimed by one worker at a time). */
  @Column({ name: 'last_scheduled_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  lastScheduledAtMs!: number | null;

  @Column({ name: 'updated_at_ms', type: 'bigint', transformer: bigintToNumber })
  updatedAtMs!: number;
}
