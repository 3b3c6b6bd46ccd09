import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AudienceConnectionsRepository, AuditRepository, ListLeasesRepository, MembershipsRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { DeliveriesQueryDto } from './dto/deliveries-query.dto';
import { DeliveriesDto } from './dto/deliveries.dto';
import { MpidMembershipsDto } from './dto/memberships.dto';
import { ReplayDto, ReplayResultDto } from './dto/replay.dto';
import { StatsDto } from './dto/stats.dto';

const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** The delivery audit: every Iterable call, per-user history, replay, and counts. */
@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('v1')
export class AuditController {
  constructor(
    private readonly audit: AuditRepository,
    private readonly memberships: MembershipsRepository,
    private readonly leases: ListLeasesRepository,
    private readonly producer: ListSyncProducer,
    private readonly connections: AudienceConnectionsRepository,
  ) {}

  @Get('deliveries')
  @ApiOkResponse({ type: DeliveriesDto })
  async deliveries(@Query() query: DeliveriesQueryDto): Promise<DeliveriesDto> {
    try {
      return await this.audit.deliveries(
        {
          ...(query.accountId !== undefined ? { accountId: query.accountId } : {}),
          ...(query.audienceId !== undefined ? { audienceId: query.audienceId } : {}),
          ...(query.listId !== undefined ? { listId: query.listId } : {}),
          ...(query.status !== undefined ? { status: query.status } : {}),
          ...(query.from !== undefined ? { from: ms(query.from) } : {}),
          ...(query.to !== undefined ? { to: ms(query.to) } : {}),
        },
        query.limit ?? 50,
        query.cursor,
      );
    } catch (error) {
      if (error instanceof RangeError) throw new BadRequestException(`cursor: ${error.message}`);
      throw error;
    }
  }

  /**
   * Sends the matching failed members again (their newest state); `reason: "dry run"` brings whole lists to
   * the newest state. With `preview: true` it only answers how many members and lists it would send again.
   */
  @Post('replay')
  @HttpCode(200)
  @ApiOkResponse({ type: ReplayResultDto })
  async replay(@Body() body: ReplayDto): Promise<ReplayResultDto> {
    const filter = {
      ...(body.accountId !== undefined ? { accountId: body.accountId } : {}),
      ...(body.audienceId !== undefined ? { audienceId: body.audienceId } : {}),
      ...(body.listId !== undefined ? { listId: body.listId } : {}),
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      ...(body.from !== undefined ? { from: ms(body.from) } : {}),
      ...(body.to !== undefined ? { to: ms(body.to) } : {}),
    };
    if (body.preview) {
      const { requeued, lists } = await this.audit.replayPreview(filter);
      return { requeued, lists: lists.length, listIds: lists, preview: true };
    }
    const { requeued, lists } = await this.audit.replay(filter);
    await this.producer.enqueue(
      lists.map((listId) => ({ listId })),
      0,
    );
    return { requeued, lists: lists.length };
  }

  /**
   * `pending` first (members waiting for Iterable) and how long the oldest has waited; lists backing off
   * after transient failures; list members by what Iterable has; messages and Iterable calls.
   */
  @Get('stats')
  @ApiOkResponse({ type: StatsDto })
  async stats(): Promise<StatsDto> {
    // The same reads as the gauges of /metrics (libs/metrics), uncached here.
    const [backlog, members, failing, messages, calls, heldWithoutList, suspended] = await Promise.all([
      this.memberships.backlog(),
      this.memberships.countsByState(),
      this.leases.failing(),
      this.memberships.messageCounts(),
      this.audit.callCounts(),
      this.memberships.heldWithoutList(),
      this.connections.suspendedCounts(),
    ]);
    return {
      pending: backlog.pending,
      oldestPendingAgeMs: backlog.oldestAgeMs,
      failingLists: failing.lists,
      failingSince: failing.oldestSince === null ? null : new Date(failing.oldestSince).toISOString(),
      heldWithoutList,
      suspendedAccounts: suspended.accounts,
      suspendedAudiences: suspended.audiences,
      members,
      messagesAccepted: messages.accepted,
      duplicates: messages.duplicates,
      iterable: calls,
    };
  }

  /** Per audience and list: the user's latest desired state and delivery state, with the history of verdicts. */
  @Get('users/:mpid/memberships')
  @ApiOkResponse({ type: MpidMembershipsDto })
  async userMemberships(@Param('mpid') mpid: string): Promise<MpidMembershipsDto> {
    const [memberships, verdicts] = await Promise.all([this.memberships.byMpid(mpid), this.audit.verdictsFor(mpid)]);
    if (memberships.length === 0) throw new NotFoundException(`no memberships for mpid ${mpid}`);
    return {
      mpid,
      memberships: memberships.map((m) => ({
        ...m,
        history: verdicts.filter((v) => v.accountId === m.accountId && v.audienceId === m.audienceId),
      })),
    };
  }
}
