import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { DRIFT_IDENTIFIERS, DRIFT_REPAIR_EXTRAS, DRIFT_STATES, DRIFT_TRIGGERS, DriftIdentifier, DriftRepairExtras } from '@audience-bridge/persistence';

const REPAIR_EXTRAS_HELP =
  'Which extra members a repair unsubscribes: ours (only members this service once subscribed, as list_members records it: the default) ' +
  'or all (every extra, strangers added by hand or by other tools too)';

/** POST /v1/accounts/:accountId/lists/:listId/drift-check */
export class DriftCheckRequestDto {
  @ApiPropertyOptional({ default: false, description: 'Send the differences through delivery (audited with the reason "drift repair"); false only reports' })
  @IsOptional()
  @IsBoolean()
  repair?: boolean;

  @ApiPropertyOptional({ enum: DRIFT_REPAIR_EXTRAS, description: `${REPAIR_EXTRAS_HELP}; default: the account's drift settings` })
  @IsOptional()
  @IsIn(DRIFT_REPAIR_EXTRAS, { message: 'repairExtras must be "ours" or "all"' })
  repairExtras?: DriftRepairExtras;
}

/** A drift check of one Iterable list: what Iterable's list held against the newest desired state. */
export class DriftReportDto {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  listId!: number;

  @ApiProperty({ enum: DRIFT_STATES, description: 'running (queued, waiting for the read budget, or comparing), done, failed (see error)' })
  state!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'While running: queued, waiting for the read budget, reading the list, reading the desired state, comparing (and repairing)',
  })
  phase!: string | null;

  @ApiProperty({ description: 'The differences were sent through delivery' })
  repair!: boolean;

  @ApiProperty({
    type: String,
    enum: DRIFT_REPAIR_EXTRAS,
    nullable: true,
    description: `${REPAIR_EXTRAS_HELP} (null: a check from before the choice, which repaired all)`,
  })
  repairExtras!: string | null;

  @ApiProperty({ description: 'Extra members a repair left on the list: this service never subscribed them (repairExtras ours)' })
  extraKept!: number;

  @ApiProperty({ enum: DRIFT_TRIGGERS })
  trigger!: string;

  @ApiProperty({ enum: DRIFT_IDENTIFIERS, description: "What the list read named members by (the account's drift settings)" })
  identifier!: string;

  @ApiProperty({ format: 'date-time' })
  requestedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When a worker took the check' })
  startedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "When Iterable's list was read: the moment the verdict describes" })
  checkedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: string | null;

  @ApiProperty({ type: Number, nullable: true, description: "Identifiers Iterable's list held" })
  iterableMembers!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Members the newest desired state puts on the list' })
  desiredMembers!: number | null;

  @ApiProperty({ description: 'Should be on the list and are not' })
  missing!: number;

  @ApiProperty({ description: 'Are on the list and should not be' })
  extra!: number;

  @ApiProperty({ description: 'Differences sent through delivery (their calls are in GET /v1/deliveries, verdicts with the reason "drift repair")' })
  repaired!: number;

  @ApiProperty({
    description:
      "Members that differ but whose change was pending, unanswered, or delivered within settleMs of the read: no verdict (Iterable's reads lag its writes)",
  })
  leftOut!: number;

  @ApiProperty({ description: 'Missing members Iterable refused for good (invalid, forgotten…): known, not drift; POST /v1/replay sends them again' })
  refused!: number;

  @ApiProperty({ type: String, isArray: true, description: 'Up to 20 missing identifiers' })
  missingSample!: string[];

  @ApiProperty({ type: String, isArray: true, description: 'Up to 20 extra identifiers' })
  extraSample!: string[];

  @ApiProperty({ description: 'DRIFT_SETTLE_MS: how recent a delivery must be to be left out' })
  settleMs!: number;

  @ApiProperty({ type: String, nullable: true, description: 'Why a failed check reached no verdict' })
  error!: string | null;

  @ApiPropertyOptional({ description: 'POST only: a check of this list was running already; this is that check (nothing new was started)' })
  alreadyRunning?: boolean;
}

export class DriftReportsDto {
  @ApiProperty({ type: DriftReportDto, isArray: true, description: 'The newest check of each list of the account' })
  items!: DriftReportDto[];
}

/** An account's drift settings. */
export class DriftSettingsDto {
  @ApiProperty()
  accountId!: number;

  @ApiProperty({
    enum: DRIFT_IDENTIFIERS,
    description: 'email (email-based and hybrid projects), or userId (userId-based projects: the read asks preferUserId)',
  })
  identifier!: string;

  @ApiProperty({ type: Number, nullable: true, description: 'Check every list of the account this often, in hours; null: no schedule (the default)' })
  scheduleHours!: number | null;

  @ApiProperty({ description: 'Scheduled checks repair what they find (else they report only)' })
  scheduleRepair!: boolean;

  @ApiProperty({ enum: DRIFT_REPAIR_EXTRAS, description: `${REPAIR_EXTRAS_HELP}; for scheduled checks, and asked ones that do not say` })
  repairExtras!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "When the schedule last started the account's checks (or was switched on)" })
  lastScheduledAt!: string | null;
}

/** PUT /v1/accounts/:accountId/drift-settings: every field optional. */
export class PutDriftSettingsDto {
  @ApiPropertyOptional({ enum: DRIFT_IDENTIFIERS })
  @IsOptional()
  @IsIn(DRIFT_IDENTIFIERS)
  identifier?: DriftIdentifier;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: 720,
    description: 'Hours between scheduled checks; null switches the schedule off',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(720)
  scheduleHours?: number | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  scheduleRepair?: boolean;

  @ApiPropertyOptional({ enum: DRIFT_REPAIR_EXTRAS, description: REPAIR_EXTRAS_HELP })
  @IsOptional()
  @IsIn(DRIFT_REPAIR_EXTRAS, { message: 'repairExtras must be "ours" or "all"' })
  repairExtras?: DriftRepairExtras;
}
