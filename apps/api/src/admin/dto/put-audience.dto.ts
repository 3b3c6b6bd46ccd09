import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { CONNECTION_STATUSES, ConnectionStatus } from '@audience-bridge/domain';

/** PUT /v1/accounts/:accountId/audiences/:audienceId. */
export class PutAudienceDto {
  @ApiPropertyOptional({ description: 'The Iterable static list id' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  listId?: number;

  @ApiPropertyOptional({ enum: CONNECTION_STATUSES })
  @IsOptional()
  @IsIn(CONNECTION_STATUSES)
  status?: ConnectionStatus;

  @ApiPropertyOptional({ description: 'Required when the request creates the audience; never blank' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @Matches(/\S/, { message: 'audienceName must not be blank' })
  audienceName?: string;
}
