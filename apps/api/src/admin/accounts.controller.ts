import {
  BadGatewayException,
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Logger,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Put,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  AccountsRepository,
  AccountView,
  AudienceConnectionsRepository,
  ConnectionView,
  CreatedListsRepository,
  MembershipIngestRepository,
} from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { cleanListName, DEFAULT_LIST_NAME_TEMPLATE, listNameCandidates } from '@audience-bridge/mparticle';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { ApiMetrics } from '../metrics/api-metrics';
import { ListProvisioner, NoListNameLeftError } from '../mparticle/list-provisioner.service';
import { AccountViewDto } from './dto/account-view.dto';
import { ConnectionViewDto } from './dto/connection-view.dto';
import { RecreateListDto } from './dto/recreate-list.dto';
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
    private readonly lists: ListProvisioner,
    private readonly claims: CreatedListsRepository,
  ) {}

  private readonly logger = new Logger(AccountsController.name);

  @Get(':accountId')
  @ApiOkResponse({ type: AccountViewDto })
  async get(@Param('accountId', accountIdPipe) accountId: number): Promise<AccountViewDto> {
    return (await this.accounts.find(accountId)) ?? notFound(`account ${accountId}`);
  }

  /** Changes settings. Turning dry run off, or a new key, brings every list of the account to the newest state. */
  @Put(':accountId')
  @ApiOkResponse({ type: AccountViewDto })
  async put(@Param('accountId', accountIdPipe) accountId: number, @Body() body: PutAccountDto): Promise<AccountViewDto> {
    // A new account without a key could deliver nothing and would only wait for one: say so instead of creating it.
    if (body.apiKey === undefined && !(await this.accounts.find(accountId))) {
      throw new BadRequestException(`apiKey is required to create account ${accountId}`);
    }
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
  @ApiOkResponse({ type: AccountViewDto })
  async resume(@Param('accountId', accountIdPipe) accountId: number): Promise<AccountViewDto> {
    if (!(await this.accounts.resume(accountId))) notFound(`account ${accountId}`);
    await this.changed(accountId);
    return (await this.accounts.find(accountId)) as AccountView;
  }

  @Get(':accountId/audiences/:audienceId')
  @ApiOkResponse({ type: ConnectionViewDto })
  async getAudience(@Param('accountId', accountIdPipe) accountId: number, @Param('audienceId', accountIdPipe) audienceId: number): Promise<ConnectionViewDto> {
    return (await this.connections.find(accountId, audienceId)) ?? notFound(`audience ${audienceId} of account ${accountId}`);
  }

  @Put(':accountId/audiences/:audienceId')
  @ApiOkResponse({ type: ConnectionViewDto })
  async putAudience(
    @Param('accountId', accountIdPipe) accountId: number,
    @Param('audienceId', accountIdPipe) audienceId: number,
    @Body() body: PutAudienceDto,
  ): Promise<ConnectionViewDto> {
    if (!(await this.accounts.find(accountId))) notFound(`account ${accountId}`);
    const before = await this.connections.find(accountId, audienceId);
    if (!before && body.audienceName === undefined) throw new BadRequestException(`audienceName is required to create audience ${audienceId}`);
    const connection = await this.connections.upsert(accountId, audienceId, body);
    await this.changed(accountId, before?.listId ?? undefined);
    return connection;
  }

  @Post(':accountId/audiences/:audienceId/resume')
  @HttpCode(200)
  @ApiOkResponse({ type: ConnectionViewDto })
  async resumeAudience(
    @Param('accountId', accountIdPipe) accountId: number,
    @Param('audienceId', accountIdPipe) audienceId: number,
  ): Promise<ConnectionViewDto> {
    if (!(await this.connections.resume(accountId, audienceId))) notFound(`audience ${audienceId} of account ${accountId}`);
    await this.changed(accountId);
    return (await this.connections.find(accountId, audienceId)) as ConnectionView;
  }

  /**
   * For an audience whose list was deleted in Iterable (suspended as an unknown list): finds or creates a
   * list of that name (through the claim table, like a subscription: a name whose list feeds another audience
   * is passed over for the next of the rule, or refused with 409 when the operator gave it), points the audience
   * at it, resumes it, and refills it from the stored desired state.
   */
  @Post(':accountId/audiences/:audienceId/recreate-list')
  @HttpCode(200)
  @ApiOkResponse({ type: ConnectionViewDto })
  async recreateList(
    @Param('accountId', accountIdPipe) accountId: number,
    @Param('audienceId', accountIdPipe) audienceId: number,
    @Body() body: RecreateListDto,
  ): Promise<ConnectionViewDto> {
    const account = (await this.accounts.findForDelivery(accountId)) ?? notFound(`account ${accountId}`);
    const connection = (await this.connections.find(accountId, audienceId)) ?? notFound(`audience ${audienceId} of account ${accountId}`);
    if (!account.iterableApiKey) throw new BadRequestException(`account ${accountId} has no Iterable API key`);
    // An operator's name follows the same character rules as a generated one (README "Lists created for you").
    const given = body.name === undefined ? undefined : cleanListName(body.name).trim();
    if (given === '') throw new BadRequestException('name is blank once control and bidi characters are removed');
    const names =
      given !== undefined ? [given] : listNameCandidates(DEFAULT_LIST_NAME_TEMPLATE, { accountId, audienceId, audienceName: connection.audienceName });
    if (names.length === 0)
      throw new BadRequestException(`audience ${audienceId} has a name that is blank once control characters are removed: give the list a name`);
    // The list it had is gone (or is found again by name below): its claim no longer answers for the name.
    if (connection.listId !== null) await this.claims.forgetList(connection.listId);
    let listId: number;
    try {
      ({ listId } = await this.lists.provision(
        { apiKey: account.iterableApiKey, dataCenter: account.dataCenter },
        names,
        { accountId, audienceId },
        `mParticle audience ${audienceId}, kept in step by audience-bridge`,
      ));
    } catch (error) {
      if (error instanceof NoListNameLeftError) throw new ConflictException(`a list named ${JSON.stringify(body.name)} already feeds another audience`);
      throw new BadGatewayException(`Iterable could not find or create the list: ${error instanceof Error ? error.message : String(error)}`);
    }
    const updated = await this.connections.upsert(accountId, audienceId, { listId, status: 'active' });
    this.logger.log(
      `account ${accountId} audience ${audienceId}: list ${connection.listId ?? 'none'} replaced by ${listId} (an operator override), refilling it`,
    );
    await this.changed(accountId, connection.listId ?? undefined);
    return updated;
  }

  /** After an operator's change: ingest rereads the account, and every list it touches is signalled now. */
  private async changed(accountId: number, formerList?: number): Promise<void> {
    this.ingest.forget(accountId);
    const lists = await this.connections.listsOf(accountId);
    if (formerList !== undefined) lists.push(formerList);
    await this.producer.enqueue(
      lists.map((listId) => ({ listId })),
      0,
    );
  }
}

function notFound(what: string): never {
  throw new NotFoundException(`${what} not found`);
}
