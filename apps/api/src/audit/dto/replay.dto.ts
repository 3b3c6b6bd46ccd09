import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsISO8601, IsOptional, IsString, MaxLength, Min } from 'class-validator';

/** POST /v1/replay: which failed changes to send again. Times are mParticle's (the change's timestamp_ms), ISO 8601. */
export class ReplayDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  accountId?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  audienceId?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(1)
  listId?: number;

  @ApiPropertyOptional({ description: 'The failure reason, e.g. "forgotten", "rate limited"; "dry run" replays what a dry run skipped' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  reason?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsISO8601()
  to?: string;

  @ApiPropertyOptional({ description: 'Answer how many members and lists the replay would send again, and change nothing', default: false })
  @IsOptional()
  @IsBoolean()
  preview?: boolean;
}

/** POST /v1/replay: how many members go out again (or would, with `preview`), on how many lists. */
export class ReplayResultDto {
  @ApiProperty({ description: "Failed members put back in their lists' inbox (with preview: that would be)" })
  requeued!: number;

  @ApiProperty({ description: 'How many lists' })
  lists!: number;

  @ApiPropertyOptional({ type: Number, isArray: true, description: 'With preview: which lists' })
  listIds?: number[];

  @ApiPropertyOptional({ description: 'With preview: true, nothing was changed' })
  preview?: boolean;
}
