import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsISO8601, IsOptional, IsString, MaxLength, Min } from 'class-validator';

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
}
