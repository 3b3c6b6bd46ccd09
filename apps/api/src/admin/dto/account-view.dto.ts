import { ApiProperty } from '@nestjs/swagger';
import { ACCOUNT_STATUSES, DATA_CENTERS, DataCenter, USER_ID_FIELDS, UserIdField } from '@audience-bridge/domain';
import type { AccountView } from '@audience-bridge/persistence';

/** GET, PUT /v1/accounts/:accountId and POST …/resume: an account's settings, never its API key. */
export class AccountViewDto implements AccountView {
  @ApiProperty()
  accountId!: number;

  @ApiProperty({ type: String, nullable: true, description: 'The last 4 characters of the Iterable API key (the key itself is write-only)' })
  apiKeyLast4!: string | null;

  @ApiProperty({ enum: USER_ID_FIELDS, description: "Which mParticle identity becomes Iterable's userId" })
  userIdField!: UserIdField;

  @ApiProperty({ enum: DATA_CENTERS })
  dataCenter!: DataCenter;

  @ApiProperty({ enum: ACCOUNT_STATUSES })
  status!: AccountView['status'];

  @ApiProperty({ type: String, nullable: true, description: 'Why the account is suspended (e.g. bad api key)' })
  suspendedReason!: string | null;

  @ApiProperty({ description: 'Record what would be sent to Iterable and send nothing' })
  dryRun!: boolean;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "When an operator last changed a setting mParticle owns; null when mParticle's own settings are in force",
  })
  overriddenAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;
}
