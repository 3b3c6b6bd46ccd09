import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** POST /v1/accounts/:accountId/audiences/:audienceId/recreate-list. */
export class RecreateListDto {
  @ApiPropertyOptional({ description: 'Name of the list to find or create (default: the audience name)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  name?: string;
}
