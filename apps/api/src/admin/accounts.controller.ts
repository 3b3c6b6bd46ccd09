import { Body, Controller, Get, HttpCode, Logger, NotFoundException, Param, ParseIntPipe, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AccountsRepository, AccountView, AudienceConnectionsRepository, ConnectionView, MembershipIngestRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { ApiMetrics } from '../metrics/api-metrics';
import { PutAccountDto } from './dto/put-account.dto';
import { PutAudienceDto } from './dto/put-audience.dto';

const accountIdPipe = new ParseIntPipe({ errorHttpStatusCode: 400 });

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('v1/accounts')
export class AccountsController {
  constructor(
    private readonly accounts: AccountsRepository,
    private readonly connections: AudienceConnectionsRepository,
    private readonly producer: ListSyncProducer,
    private readonly ingest: MembershipIngestRepository,
    private readonly metrics: ApiMetrics,
  ) {}

  private readonly logger = new Logger(AccountsController.name);

  @Get(':accountId')
  async get(@Param('accountId', accountIdPipe) accountId: number): Promise<AccountView> {
    return (await this.accounts.find(accountId)) ?? notFound(`account ${accountId}`);
  }

  /** Changes settings. Turning dry run off, or a new key, brings every list of the account to the newest state. */
  @Put(':accountId')
  async put(@Param('accountId', accountIdPipe) accountId: number, @Body() body: PutAccountDto): Promise<AccountView> {
    const account = await this.accounts.upsert(accountId, body);
    if (body.apiKey !== undefined) {
      this.logger.log(`account ${accountId}: an operator set a new Iterable API key (an override until mParticle sends a different one)`);
      this.metrics.apiKeyChanges.inc({ source: 'admin' });
    }
    await this.changed(accountId);
    return account;
  }

  /** Lifts a suspension (e.g. after a bad API key was replaced): every list of the account is brought to the newest state. */
  @Post(':accountId/resume')
  @HttpCode(200)
  async resume(@Param('accountId', accountIdPipe) accountId: number): Promise<AccountView> {
    if (!(await this.accounts.resume(accountId))) notFound(`account ${accountId}`);
    await this.changed(accountId);
    return (await this.accounts.find(accountId)) as AccountView;
  }

  @Get(':accountId/audiences/:audienceId')
  async getAudience(@Param('accountId', accountIdPipe) accountId: number, @Param('audienceId', accountIdPipe) audienceId: number): Promise<ConnectionView> {
    return (await this.connections.find(accountId, audienceId)) ?? notFound(`audience ${audienceId} of account ${accountId}`);
  }

  @Put(':accountId/audiences/:audienceId')
  async putAudience(
    @Param('accountId', accountIdPipe) accountId: number,
    @Param('audienceId', accountIdPipe) audienceId: number,
    @Body() body: PutAudienceDto,
  ): Promise<ConnectionView> {
    if (!(await this.accounts.find(accountId))) notFound(`account ${accountId}`);
    const before = await this.connections.find(accountId, audienceId);
    const connection = await this.connections.upsert(accountId, audienceId, body);
    await this.changed(accountId, before?.listId ?? undefined);
    return connection;
  }

  @Post(':accountId/audiences/:audienceId/resume')
  @HttpCode(200)
  async resumeAudience(@Param('accountId', accountIdPipe) accountId: number, @Param('audienceId', accountIdPipe) audienceId: number): Promise<ConnectionView> {
    if (!(await this.connections.resume(accountId, audienceId))) notFound(`audience ${audienceId} of account ${accountId}`);
    await this.changed(accountId);
    return (await this.connections.find(accountId, audienceId)) as ConnectionView;
  }

  /** After an operator's change: ingest rereads the account, and every list it touches is signalled now. */
  private async changed(accountId: number, formerList?: number): Promise<void> {
    this.ingest.forget(accountId);
    const lists = await this.connections.listsOf(accountId);
    if (formerList !== undefined) lists.push(formerList);
    await this.producer.enqueue(lists.map((listId) => ({ listId })), 0);
  }
}

function notFound(what: string): never {
  throw new NotFoundException(`${what} not found`);
}
