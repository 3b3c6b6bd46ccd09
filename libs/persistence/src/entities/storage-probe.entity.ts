import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

/**
 * Written and removed by readiness probes only (`Database.probeWrite`): a row with a pad large enough to need
 * new pages, inserted and deleted in one transaction, so a database that cannot grow or commit says so.
 * Normally empty.
 */
@Entity('storage_probe')
export class StorageProbeEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  holder!: string;

  /** Epoch ms. */
  @Column({ name: 'written_at_ms', type: 'bigint', transformer: bigintToNumber })
  writtenAtMs!: number;

  @Column({ type: 'text' })
  pad!: string;
}
