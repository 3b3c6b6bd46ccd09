import { BadRequestException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Environment } from '@audience-bridge/config';
import { ListLeasesRepository, MembershipsRepository, OperationsRepository } from '@audience-bridge/persistence';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { ConnectionsDto } from './dto/connection-row.dto';
import { DeliveryDetailDto } from './dto/delivery-detail.dto';
import { SummaryDto, SummaryQueryDto } from './dto/summary.dto';
import { UserLookupDto, UserLookupQueryDto } from './dto/user-lookup.dto';

/** What the operations console reads: traffic over time, connections with their figures, one call, a user. */
@ApiTags('operations')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Authorization: Bearer <ADMIN_TOKEN> is missing or wrong' })
@UseGuards(AdminTokenGuard)
@Controller('v1')
export class OperationsController {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly memberships: MembershipsRepository,
    private readonly leases: ListLeasesRepository,
    private readonly env: Environment,
  ) {}

  /** The backlog and lag now, and Iterable traffic (adds, removes, refused members, calls) in time buckets. */
  @Get('summary')
  @ApiOkResponse({ type: SummaryDto })
  async summary(@Query() query: SummaryQueryDto): Promise<SummaryDto> {
    const now = Date.now();
    const traffic = await this.operations.summary(query.window ?? 'hour', now);
    const [backlog, failing, heldWithoutList, rate] = await Promise.all([
      this.memberships.backlog(now),
      this.leases.failing(),
      this.memberships.heldWithoutList(),
      this.operations.callRate(Date.parse(traffic.from), now),
    ]);
    return {
      ...traffic,
      pending: backlog.pending,
      oldestPendingAgeMs: backlog.oldestAgeMs,
      failingLists: failing.lists,
      failingSince: failing.oldestSince === null ? null : new Date(failing.oldestSince).toISOString(),
      heldWithoutList,
      rate: { limitPerSecond: this.env.ITERABLE_REQUESTS_PER_SECOND, ...rate },
      generatedAt: new Date(now).toISOString(),
    };
  }

  /** Every account → audience → list with its status, last success, 24 h figures, what waits and what is held. */
  @Get('connections')
  @ApiOkResponse({ type: ConnectionsDto })
  async connections(): Promise<ConnectionsDto> {
    const now = Date.now();
    return { items: await this.operations.connections(now), generatedAt: new Date(now).toISOString() };
  }

  /** One Iterable call with each user's verdict and a redacted error sample. */
  @Get('deliveries/:id')
  @ApiOkResponse({ type: DeliveryDetailDto })
  @ApiNotFoundResponse({ description: 'No call with this id (pruned after AUDIT_RETENTION_DAYS)' })
  async delivery(@Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) id: string): Promise<DeliveryDetailDto> {
    const detail = await this.operations.delivery(id);
    if (!detail) throw new NotFoundException(`delivery ${id} not found`);
    return detail;
  }

  /** A user by exactly one of mpid, email or customerId: per audience and list, desired state, what Iterable has, verdicts. */
  @Get('users')
  @ApiOkResponse({ type: UserLookupDto })
  @ApiBadRequestResponse({ description: 'Not exactly one of mpid, email, customerId' })
  async users(@Query() query: UserLookupQueryDto): Promise<UserLookupDto> {
    const given = (['mpid', 'email', 'customerId'] as const).filter((k) => query[k] !== undefined && query[k]?.trim() !== '');
    if (given.length !== 1) throw new BadRequestException('give exactly one of mpid, email, customerId');
    const by = given[0];
    const value = (query[by] as string).trim();
    const memberships = await this.operations.findUsers(by === 'mpid' ? { mpid: value } : by === 'email' ? { email: value } : { customerId: value });
    return { by, value, memberships };
  }
}
