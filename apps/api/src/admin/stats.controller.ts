import { Controller, Get, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IngestStats, MembershipsRepository, UserMembershipView } from '@audience-bridge/persistence';
import { AdminTokenGuard } from '../auth/admin-token.guard';

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('v1')
export class StatsController {
  constructor(private readonly memberships: MembershipsRepository) {}

  /** `pending` first: changes accepted and not yet settled; then counts per state and message counts. */
  @Get('stats')
  async stats(): Promise<IngestStats> {
    const [counts, messages] = await Promise.all([this.memberships.countsByState(), this.memberships.messageCounts()]);
    return { pending: counts.pending, memberships: counts, messagesAccepted: messages.accepted, duplicates: messages.duplicates };
  }

  @Get('users/:mpid/memberships')
  async userMemberships(@Param('mpid') mpid: string): Promise<{ mpid: string; memberships: UserMembershipView[] }> {
    const memberships = await this.memberships.byMpid(mpid);
    if (memberships.length === 0) throw new NotFoundException(`no memberships for mpid ${mpid}`);
    return { mpid, memberships };
  }
}
