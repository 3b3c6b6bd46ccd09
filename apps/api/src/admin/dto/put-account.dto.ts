import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { DATA_CENTERS, DataCenter, USER_ID_FIELDS, UserIdField } from '@audience-bridge/domain';

/** PUT /v1/accounts/:accountId: every field optional; the API key is write-only. */
export class PutAccountDto {
  @ApiPropertyOptional({ description: 'Iterable server-side API key (write-only: reads show its last 4 characters)', writeOnly: true })
  @IsOptional()
  @IsString()
  @Matches(/^\S{8,200}$/, { message: 'apiKey must be 8-200 characters without spaces' })
  apiKey?: string;

  @ApiPropertyOptional({ enum: USER_ID_FIELDS })
  @IsOptional()
  @IsIn(USER_ID_FIELDS)
  userIdField?: UserIdField;

  @ApiPropertyOptional({ enum: DATA_CENTERS })
  @IsOptional()
  @IsIn(DATA_CENTERS)
  dataCenter?: DataCenter;

  @ApiPropertyOptional({ description: 'Record what would be sent to Iterable and send nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}
