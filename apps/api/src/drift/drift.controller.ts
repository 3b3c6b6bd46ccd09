import { Body, Controller, Get, HttpCode, Logger, NotFoundException, Param, ParseIntPipe, Post, Put, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Environment } from '@audience-bridge/config';
import { AccountsRepository, DriftReport, DriftRepository, DriftSettings } from '@audience-bridge/persistence';
import { DriftCheckProducer } from '@audience-bridge/queue';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { DriftCheckRequestDto, DriftReportDto, DriftReportsDto, DriftSettingsDto, PutDriftSettingsDto } from './dto/drift.dto';

const idPipe = new ParseIntPipe({ errorHttpStatusCode: 400 });
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Drift checks: does an Iterable list hold exactly what the newest desired state says? A check is recorded here
 * and run by a worker (its own queue; README "Drift checks"); this answers 202 at once and the report is read back.
 */
@ApiTags('drift')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Authorization: Bearer <ADMIN_TOKEN> is missing or wrong' })
@UseGuards(AdminTokenGuard)
@Controller('v1/accounts/:accountId')
export class DriftController {
  private readonly logger = new Logger(DriftController.name);

  constructor(
    private readonly drift: DriftRepository,
    private readonly accounts: AccountsRepository,
    private readonly producer: DriftCheckProducer,
    private readonly env: Environment,
  ) {}

  /** Starts a check of the list (report only unless `repair`); a check of the list already running is answered instead. */
  @Post('lists/:listId/drift-check')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: DriftReportDto, description: 'The check, running (read it back with GET on the same path)' })
  @ApiNotFoundResponse({ description: 'No such account, or none of its audiences feeds this list' })
  async start(
    @Param('accountId', idPipe) accountId: number,
    @Param('listId', idPipe) listId: number,
    @Body() body: DriftCheckRequestDto,
  ): Promise<DriftReportDto> {
    await this.feeding(accountId, listId);
    const settings = await this.drift.settings(accountId);
    const { report, created } = await this.drift.request({
      accountId,
      listId,
      repair: body.repair ?? false,
      trigger: 'api',
      identifier: settings.identifier,
      repairExtras: body.repairExtras ?? settings.repairExtras,
    });
    if (created) {
      this.logger.log(
        `drift check ${report.id} of list ${listId} asked (account ${accountId}${report.repair ? `, repair, extras: ${report.repairExtras ?? 'all'}` : ''})`,
      );
      // Only a signal: if Redis is away, the workers' drift sweep finds the check in the database within 30 s.
      await this.producer
        .enqueue({ reportId: report.id })
        .catch((error: unknown) =>
          this.logger.warn(`drift check ${report.id}: not signalled now (${error instanceof Error ? error.message : String(error)}); the workers will find it`),
        );
    }
    return { ...this.view(report), ...(created ? {} : { alreadyRunning: true }) };
  }

  /** The newest check of the list for this account. */
  @Get('lists/:listId/drift-check')
  @ApiOkResponse({ type: DriftReportDto })
  @ApiNotFoundResponse({ description: 'No check of this list yet' })
  async latest(@Param('accountId', idPipe) accountId: number, @Param('listId', idPipe) listId: number): Promise<DriftReportDto> {
    const report = await this.drift.latest(accountId, listId);
    if (!report) throw new NotFoundException(`no drift check of list ${listId} for account ${accountId} yet: POST to this path starts one`);
    return this.view(report);
  }

  /** The newest check of each list of the account. */
  @Get('drift-checks')
  @ApiOkResponse({ type: DriftReportsDto })
  async all(@Param('accountId', idPipe) accountId: number): Promise<DriftReportsDto> {
    await this.account(accountId);
    return { items: (await this.drift.latestPerList(accountId)).map((r) => this.view(r)) };
  }

  @Get('drift-settings')
  @ApiOkResponse({ type: DriftSettingsDto })
  @ApiNotFoundResponse({ description: 'No such account' })
  async settings(@Param('accountId', idPipe) accountId: number): Promise<DriftSettingsDto> {
    await this.account(accountId);
    return this.settingsView(await this.drift.settings(accountId));
  }

  /** How the account's lists are read (by email or userId), and a schedule of checks (off by default). */
  @Put('drift-settings')
  @ApiOkResponse({ type: DriftSettingsDto })
  @ApiNotFoundResponse({ description: 'No such account' })
  async putSettings(@Param('accountId', idPipe) accountId: number, @Body() body: PutDriftSettingsDto): Promise<DriftSettingsDto> {
    await this.account(accountId);
    const patch = {
      ...(body.identifier === undefined ? {} : { identifier: body.identifier }),
      ...(body.scheduleHours === undefined ? {} : { scheduleHours: body.scheduleHours }),
      ...(body.scheduleRepair === undefined ? {} : { scheduleRepair: body.scheduleRepair }),
      ...(body.repairExtras === undefined ? {} : { repairExtras: body.repairExtras }),
    };
    const settings = await this.drift.putSettings(accountId, patch);
    this.logger.log(
      `account ${accountId}: drift settings by ${settings.identifier}, schedule ` +
        (settings.scheduleHours === null ? 'off' : `every ${settings.scheduleHours} h${settings.scheduleRepair ? ', repair' : ''}`) +
        `, repair extras: ${settings.repairExtras}`,
    );
    return this.settingsView(settings);
  }

  private async account(accountId: number): Promise<void> {
    if (!(await this.accounts.find(accountId))) throw new NotFoundException(`account ${accountId} not found`);
  }

  private async feeding(accountId: number, listId: number): Promise<void> {
    await this.account(accountId);
    if (!(await this.drift.feeds(accountId, listId))) throw new NotFoundException(`no audience of account ${accountId} feeds list ${listId}`);
  }

  private view(r: DriftReport): DriftReportDto {
    return {
      id: r.id,
      accountId: r.accountId,
      listId: r.listId,
      state: r.state,
      phase: r.state === 'running' ? r.phase : null,
      repair: r.repair,
      repairExtras: r.repairExtras,
      extraKept: r.extraKept,
      trigger: r.trigger,
      identifier: r.identifier,
      requestedAt: new Date(r.requestedAtMs).toISOString(),
      startedAt: iso(r.startedAtMs),
      checkedAt: iso(r.checkedAtMs),
      finishedAt: iso(r.finishedAtMs),
      iterableMembers: r.iterableMembers,
      desiredMembers: r.desiredMembers,
      missing: r.missing,
      extra: r.extra,
      repaired: r.repaired,
      leftOut: r.leftOut,
      refused: r.refused,
      missingSample: r.missingSample,
      extraSample: r.extraSample,
      settleMs: this.env.DRIFT_SETTLE_MS,
      error: r.error,
    };
  }

  private settingsView(s: DriftSettings): DriftSettingsDto {
    return {
      accountId: s.accountId,
      identifier: s.identifier,
      scheduleHours: s.scheduleHours,
      scheduleRepair: s.scheduleRepair,
      repairExtras: s.repairExtras,
      lastScheduledAt: s.scheduleHours === null ? null : iso(s.lastScheduledAtMs),
    };
  }
}
