import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';

export const DRIFT_STATES = ['running', 'done', 'failed'] as const;
export type DriftState = (typeof DRIFT_STATES)[number];

/** What a list read names members by: emails, or userIds (`getUsers?preferUserId=true`, userId-keyed projects). */
export const DRIFT_IDENTIFIERS = ['email', 'userId'] as const;
export type DriftIdentifier = (typeof DRIFT_IDENTIFIERS)[number];

/** Which extra members a repair unsubscribes: `ours` only those this service once subscribed (`list_members.ever_subscribed`), `all` every one. */
export const DRIFT_REPAIR_EXTRAS = ['ours', 'all'] as const;
export type DriftRepairExtras = (typeof DRIFT_REPAIR_EXTRAS)[number];

export const DRIFT_TRIGGERS = ['api', 'schedule'] as const;
export type DriftTrigger = (typeof DRIFT_TRIGGERS)[number];

/**
 * One drift check of one Iterable list: what Iterable's list held (`getUsers`) against the newest desired
 * state, members in flight left out. Written by the API when asked (`running`, no holder yet) and by the
 * worker running it (its holder, a heartbeat, then the verdict). At most one running check per list.
 */
@Entity('drift_reports')
@Index('drift_reports_by_list', ['listId', 'id'])
@Index('drift_reports_one_running', ['listId'], { unique: true, where: "state = 'running'" })
export class DriftReportEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  /** The account whose admin asked (or whose schedule ran); its API key reads the list. */
  @Column({ name: 'account_id', type: 'bigint', transformer: bigintToNumber })
  accountId!: number;

  @Column({ name: 'list_id', type: 'bigint', transformer: bigintToNumber })
  listId!: number;

  @Column({ type: 'varchar', length: 8 })
  state!: DriftState;

  /** Send the differences through delivery (else report only). */
  @Column({ type: 'boolean', default: false })
  repair!: boolean;

  @Column({ name: 'trigger_kind', type: 'varchar', length: 8 })
  trigger!: DriftTrigger;

  @Column({ type: 'varchar', length: 8 })
  identifier!: DriftIdentifier;

  @Column({ name: 'requested_at_ms', type: 'bigint', transformer: bigintToNumber })
  requestedAtMs!: number;

  /** When a worker took it (null while it waits in the queue). */
  @Column({ name: 'started_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  startedAtMs!: number | null;

  /** When the list read was sent: the moment the verdict describes. */
  @Column({ name: 'checked_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  checkedAtMs!: number | null;

  @Column({ name: 'finished_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  finishedAtMs!: number | null;

  /** The worker running it, and when it last said so (a check whose heartbeat stops is taken over). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  holder!: string | null;

  @Column({ name: 'heartbeat_at_ms', type: 'bigint', nullable: true, transformer: bigintToNumber })
  heartbeatAtMs!: number | null;

  /** Where it is: `queued`, `waiting for the read budget`, `reading`, `comparing`, `repairing` (while running). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  phase!: string | null;

  /** Identifiers Iterable's list held (lines read). */
  @Column({ name: 'iterable_members', type: 'integer', nullable: true })
  iterableMembers!: number | null;

  /** Members the newest desired state puts on the list. */
  @Column({ name: 'desired_members', type: 'integer', nullable: true })
  desiredMembers!: number | null;

  @Column({ type: 'integer', default: 0 })
  missing!: number;

  @Column({ type: 'integer', default: 0 })
  extra!: number;

  /** Differences sent through delivery (reason "drift repair"). */
  @Column({ type: 'integer', default: 0 })
  repaired!: number;

  /** Members that differ but were in flight (pending, delivered lately, unanswered): left out of the verdict. */
  @Column({ name: 'left_out', type: 'integer', default: 0 })
  leftOut!: number;

  /** Missing members Iterable refused for good (`failed`: invalid, forgotten…): known, replayable, not drift. */
  @Column({ type: 'integer', default: 0 })
  refused!: number;

  /** JSON arrays of up to 20 identifiers each. */
  @Column({ name: 'missing_sample', type: 'text', nullable: true })
  missingSample!: string | null;

  @Column({ name: 'extra_sample', type: 'text', nullable: true })
  extraSample!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Which extra members a repair unsubscribes (null: a check from before the choice existed, which repaired all). */
  @Column({ name: 'repair_extras', type: 'varchar', length: 8, nullable: true })
  repairExtras!: DriftRepairExtras | null;

  /** Extra members a repair left on the list: this service never subscribed them (repairExtras `ours`). */
  @Column({ name: 'extra_kept', type: 'integer', default: 0 })
  extraKept!: number;
}
