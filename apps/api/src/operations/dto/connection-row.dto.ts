import { ApiProperty } from '@nestjs/swagger';
import { AudienceRefDto } from './audience-ref.dto';

const STATUSES = ['active', 'suspended', 'removed', 'dry-run', 'held'];

export class DayCountsDto {
  @ApiProperty()
  adds!: number;

  @ApiProperty()
  removes!: number;

  @ApiProperty({ description: 'Refused for good (not retried)' })
  failed!: number;
}

export class FailingDto {
  @ApiProperty({ format: 'date-time' })
  since!: string;

  @ApiProperty()
  attempts!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  nextAttemptAt!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Redacted' })
  lastError!: string | null;
}

/** One account → audience → Iterable list. */
export class ConnectionRowDto extends AudienceRefDto {
  @ApiProperty({ enum: STATUSES, description: 'removed > suspended (account or connection) > held (no list) > dry-run > active' })
  status!: string;

  @ApiProperty({ enum: ['active', 'suspended', 'removed'] })
  connectionStatus!: string;

  @ApiProperty({ enum: ['active', 'suspended', 'unknown'] })
  accountStatus!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Why it is suspended or held' })
  reason!: string | null;

  @ApiProperty({ type: String, enum: ['account', 'connection'], nullable: true })
  suspendedBy!: 'account' | 'connection' | null;

  @ApiProperty({ description: "The account's dry run (calls recorded, not sent)" })
  dryRun!: boolean;

  @ApiProperty({ type: String, nullable: true })
  userIdField!: string | null;

  @ApiProperty({ type: String, nullable: true })
  apiKeyLast4!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Last call to the list answered 200' })
  lastSuccessAt!: string | null;

  @ApiProperty({ type: () => DayCountsDto, description: "This audience's members in the last 24 h" })
  last24h!: DayCountsDto;

  @ApiProperty({ description: 'Changes held while the audience names no list' })
  held!: number;

  @ApiProperty({ description: 'Members of the list waiting for Iterable (shared by the audiences on the list)' })
  pending!: number;

  @ApiProperty({ type: Number, nullable: true })
  oldestPendingAgeMs!: number | null;

  @ApiProperty({ description: 'Members Iterable has on the list' })
  listMembers!: number;

  @ApiProperty({ description: 'Members Iterable refused for good: what a replay sends again' })
  failedMembers!: number;

  @ApiProperty({ type: () => FailingDto, nullable: true, description: 'Set while the list backs off after transient failures' })
  failing!: FailingDto | null;
}

export class ConnectionsDto {
  @ApiProperty({ type: () => ConnectionRowDto, isArray: true })
  items!: ConnectionRowDto[];

  @ApiProperty({ format: 'date-time' })
  generatedAt!: string;
}
