import { ApiProperty } from '@nestjs/swagger';
import { CONNECTION_STATUSES, ConnectionStatus } from '@audience-bridge/domain';
import type { ConnectionView } from '@audience-bridge/persistence';
import { AudienceRefDto } from '../../operations/dto/audience-ref.dto';

/** GET, PUT /v1/accounts/:accountId/audiences/:audienceId, POST …/resume and …/recreate-list: one audience and its Iterable list. */
export class ConnectionViewDto extends AudienceRefDto implements ConnectionView {
  @ApiProperty({ enum: CONNECTION_STATUSES })
  status!: ConnectionStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the audience is suspended (e.g. unknown list), or why it is held without a list (e.g. its name is blank)',
  })
  suspendedReason!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "When an operator last set the list id; null when mParticle's list id is in force",
  })
  overriddenAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;
}
