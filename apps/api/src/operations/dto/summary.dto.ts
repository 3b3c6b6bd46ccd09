import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { SUMMARY_WINDOWS, SummaryWindow } from '@audience-bridge/persistence';

const WINDOWS = Object.keys(SUMMARY_WINDOWS) as SummaryWindow[];

/** GET /v1/summary query. */
export class SummaryQueryDto {
  @ApiPropertyOptional({ enum: WINDOWS, default: 'hour', description: 'hour: 60 one-minute buckets; day: 96 quarter-hour buckets' })
  @IsOptional()
  @IsIn(WINDOWS)
  window?: SummaryWindow;
}

export class SummaryTotalsDto {
  @ApiProperty({ description: 'Members Iterable confirmed added (subscribe calls)' })
  adds!: number;

  @ApiProperty({ description: 'Members Iterable confirmed removed (unsubscribe calls)' })
  removes!: number;

  @ApiProperty({ description: 'Members Iterable refused for good (not retried)' })
  failed!: number;

  @ApiProperty({ description: 'Iterable calls made (dry runs aside)' })
  calls!: number;

  @ApiProperty({ description: 'Calls not answered 200 (429, 5xx, timeouts): retried with backoff' })
  failedCalls!: number;

  @ApiProperty({ description: 'Calls recorded but not sent (dry run)' })
  dryRunCalls!: number;
}

export class SummaryBucketDto extends SummaryTotalsDto {
  @ApiProperty({ format: 'date-time', description: 'Start of the bucket (inclusive)' })
  start!: string;
}

export class CallRateDto {
  @ApiProperty({ description: 'ITERABLE_REQUESTS_PER_SECOND: the configured limit per API key' })
  limitPerSecond!: number;

  @ApiProperty({ description: "The busiest account's calls over the last 60 s, per second" })
  lastMinutePerSecond!: number;

  @ApiProperty({
    description: 'The most calls one account made in one calendar second of the window (its whole seconds; kept per second, so a day reads a few rows)',
  })
  peakPerSecond!: number;

  @ApiProperty({ type: Number, nullable: true })
  peakAccountId!: number | null;
}

/** GET /v1/summary: the backlog now and Iterable traffic over the window, in time buckets. */
export class SummaryDto {
  @ApiProperty({ enum: WINDOWS })
  window!: SummaryWindow;

  @ApiProperty({ description: 'Length of a bucket in ms' })
  bucketMs!: number;

  @ApiProperty({ format: 'date-time' })
  from!: string;

  @ApiProperty({ format: 'date-time', description: 'End of the last (current, partial) bucket' })
  to!: string;

  @ApiProperty({ type: () => SummaryBucketDto, isArray: true })
  buckets!: SummaryBucketDto[];

  @ApiProperty({ type: () => SummaryTotalsDto })
  totals!: SummaryTotalsDto;

  @ApiProperty({ description: 'Members waiting for Iterable (inbox rows)' })
  pending!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Age of the oldest waiting change: the lag' })
  oldestPendingAgeMs!: number | null;

  @ApiProperty({ description: 'Lists backing off after transient failures' })
  failingLists!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  failingSince!: string | null;

  @ApiProperty({ description: 'Changes held: their audience names no Iterable list' })
  heldWithoutList!: number;

  @ApiProperty({ type: () => CallRateDto })
  rate!: CallRateDto;

  @ApiProperty({ format: 'date-time' })
  generatedAt!: string;
}
