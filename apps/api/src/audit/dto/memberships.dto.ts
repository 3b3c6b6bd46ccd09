import { ApiProperty } from '@nestjs/swagger';
import { LIST_MEMBER_STATES, ListMemberState, UserMembershipView } from '@audience-bridge/persistence';
import { DesiredStateDto, VerdictDto } from '../../operations/dto/user-lookup.dto';

/** One audience of the user: mParticle's newest change, where the list stands for the member, and the verdicts. */
export class MpidMembershipDto extends DesiredStateDto implements UserMembershipView {
  @ApiProperty()
  accountId!: number;

  @ApiProperty()
  audienceId!: number;

  @ApiProperty({ type: Number, nullable: true })
  listId!: number | null;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: Date;

  @ApiProperty({
    enum: ['pending', ...LIST_MEMBER_STATES, 'none', 'held'],
    description: 'held: the audience names no list; pending: waits for Iterable; else what Iterable has, none if never sent',
  })
  state!: 'pending' | ListMemberState | 'none' | 'held';

  @ApiProperty({ type: String, nullable: true, description: 'Why the member failed or is held' })
  reason!: string | null;

  @ApiProperty({ type: () => VerdictDto, isArray: true, description: 'Newest first' })
  history!: VerdictDto[];
}

/** GET /v1/users/:mpid/memberships */
export class MpidMembershipsDto {
  @ApiProperty()
  mpid!: string;

  @ApiProperty({ type: () => MpidMembershipDto, isArray: true })
  memberships!: MpidMembershipDto[];
}
