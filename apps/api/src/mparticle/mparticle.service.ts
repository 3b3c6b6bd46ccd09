import { Inject, Injectable, Logger, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import type { DependencyState, Secrets } from '@audience-bridge/config';
import { audienceUserKey, coalesce, erasureSubject, mapAttributeChanges, mapMembershipChanges, profileIdentities } from '@audience-bridge/mapping';
import {
  AudienceMembershipChangeRequest,
  AudienceSubscriptionRequest,
  DsrProcessingRequest,
  FirehoseUserProfile,
  FIREHOSE_REQUEST_TYPES,
  SETTING_IDS,
  buildAudienceMembershipChangeResponse,
  buildAudienceSubscriptionResponse,
  buildDsrProcessingResponse,
  buildRegistrationResponse,
  audienceNameOf,
  messageConnections,
  parseAccountSettings,
  parseListSettings,
  parseForwardAttributes,
  listNameCandidates,
  ListSettings,
  isPositiveIntegerString,
  parseFirehoseRequest,
  profileAudienceChanges,
} from '@audience-bridge/mparticle';
import {
  AccountsRepository,
  AudienceConnectionsRepository,
  CreatedListsRepository,
  ErasureRepository,
  MembershipIngestRepository,
} from '@audience-bridge/persistence';
import { isIterableError } from '@audience-bridge/iterable-client';
import { ListSyncProducer, REDIS_STATE } from '@audience-bridge/queue';
import { SECRETS } from '../auth/secrets';
import { IterableProject, ListClaimBusyError, ListProvisioner, NoListNameLeftError } from './list-provisioner.service';
import { ApiMetrics } from '../metrics/api-metrics';
import { credentialOf, secretsMatch } from '../auth/token-compare';

/** Why an audience whose name is blank once stripped has no list (shown with its held connection). */
export const BLANK_NAME_REASON = 'the audience name is blank once control and bidi characters are removed: no list can be named after it; give it a listId';

/** The version of this integration that registration reports to mParticle. */
export const INTEGRATION_VERSION = '1.0.0';

/** Handles the Firehose messages: validate whole, record durably, enqueue, answer. */
@Injectable()
export class MparticleService {
  private readonly logger = new Logger(MparticleService.name);

  constructor(
    @Inject(SECRETS) private readonly secrets: Secrets,
    private readonly ingest: MembershipIngestRepository,
    private readonly accounts: AccountsRepository,
    private readonly connections: AudienceConnectionsRepository,
    private readonly erasures: ErasureRepository,
    private readonly lists: ListProvisioner,
    private readonly claims: CreatedListsRepository,
    private readonly producer: ListSyncProducer,
    private readonly metrics: ApiMetrics,
    @Inject(REDIS_STATE) private readonly redisState: DependencyState,
  ) {}

  async handle(body: unknown, authorization: string | undefined): Promise<object> {
    const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
    if (type !== FIREHOSE_REQUEST_TYPES.registration && !secretsMatch(credentialOf(authorization, 'Token'), this.secrets.MPARTICLE_INBOUND_TOKEN)) {
      throw new UnauthorizedException('Authorization: Token <MPARTICLE_INBOUND_TOKEN> is missing or wrong');
    }
    const message = parseFirehoseRequest(body);
    switch (message.type) {
      case FIREHOSE_REQUEST_TYPES.registration:
        return buildRegistrationResponse(message, { version: INTEGRATION_VERSION });
      case FIREHOSE_REQUEST_TYPES.audienceSubscription:
        return this.subscription(message as AudienceSubscriptionRequest);
      case FIREHOSE_REQUEST_TYPES.dataSubjectRequest:
        return this.dataSubjectRequest(message as DsrProcessingRequest);
      default:
        return this.membershipChange(message as AudienceMembershipChangeRequest);
    }
  }

  /**
   * add and update create or change the connection (newest wins, see README "Settings"); remove stops
   * forwarding and leaves the Iterable list as it is; an add after a remove releases what was held.
   */
  private async subscription(message: AudienceSubscriptionRequest): Promise<object> {
    const settings = parseAccountSettings(message.account);
    const listSettings = parseListSettings(message.account);
    const accountId = message.account.account_id;
    const named = message.audience_subscription_settings?.[SETTING_IDS.listId];
    const formerSetting = message.previous_audience_subscription_settings?.[SETTING_IDS.listId];
    const lists = new Set<number>();
    if (message.action !== 'remove') {
      const account = await this.accounts.applyMparticle(accountId, settings, message.timestamp_ms);
      if (account.keyChanged) this.keyChanged(accountId);
    }
    // No list named: one is found or created, and the answer tells mParticle its id.
    const provisioned = message.action !== 'remove' && !isPositiveIntegerString(named) ? await this.provisionList(message, settings, listSettings) : undefined;
    const created = provisioned?.listId;
    const listSetting = created === undefined ? named : String(created);
    if (isPositiveIntegerString(listSetting)) {
      const connection = { audienceId: message.audience_id, audienceName: message.audience_name, listId: Number(listSetting) };
      const former = isPositiveIntegerString(formerSetting) ? Number(formerSetting) : undefined;
      for (const listId of await this.connections.applyMparticle(accountId, connection, message.timestamp_ms, former)) lists.add(listId);
    }
    const status = message.action === 'remove' ? ('removed' as const) : message.action === 'add' ? ('active' as const) : undefined;
    const connection = await this.connections.upsert(accountId, message.audience_id, {
      audienceName: message.audience_name,
      ...(status ? { status } : {}),
      // Why an audience without a list is held (shown with the connection); cleared once it has one.
      ...(message.action === 'remove' ? {} : { heldReason: provisioned?.heldReason ?? null }),
    });
    if (connection.listId !== null) lists.add(connection.listId);
    this.ingest.forget(accountId);
    if (message.action !== 'remove') this.signal(accountId, [...lists]);
    if (message.action === 'remove' && listSettings.onAudienceRemove === 'delete' && connection.listId !== null) {
      await this.deleteCreatedList(message, settings, listSettings, connection.listId);
    }
    this.logger.log(`audience subscription ${message.action}: account ${accountId} audience ${message.audience_id}`);
    return buildAudienceSubscriptionResponse(message, created === undefined ? undefined : { [SETTING_IDS.listId]: String(created) });
  }

  /** The Iterable project a subscription message speaks of: its own key, else the stored one. */
  private async projectOf(message: AudienceSubscriptionRequest, settings: ReturnType<typeof parseAccountSettings>): Promise<IterableProject | undefined> {
    const apiKey = settings.apiKey ?? (await this.accounts.findForDelivery(message.account.account_id))?.iterableApiKey;
    return apiKey ? { apiKey, dataCenter: settings.dataCenter } : undefined;
  }

  /**
   * Finds or creates the list of an audience that names none (single-flight per project and name, see
   * ListProvisioner). When Iterable cannot be reached, or the audience's name is blank once stripped, the answer
   * carries no list: the audience's changes are held (as for any audience without a list), with the reason on the
   * connection, until a later subscription message or an operator gives it one. When our own side cannot tell
   * (storage failing, or another subscription of the audience still holding the claim on its name), the answer
   * is a 5xx and mParticle sends the subscription again: a 200 without a list would end its retries with none.
   */
  private async provisionList(
    message: AudienceSubscriptionRequest,
    settings: ReturnType<typeof parseAccountSettings>,
    listSettings: ListSettings,
  ): Promise<{ listId?: number; heldReason?: string }> {
    const accountId = message.account.account_id;
    const project = await this.projectOf(message, settings);
    if (!project) return {};
    const names = listNameCandidates(listSettings.listNameTemplate, { accountId, audienceId: message.audience_id, audienceName: message.audience_name });
    if (names.length === 0) {
      this.logger.warn(
        `account ${accountId} audience ${message.audience_id}: its name is blank once control characters are removed; no list created, its changes are held`,
      );
      return { heldReason: BLANK_NAME_REASON };
    }
    try {
      const { listId, name, created } = await this.lists.provision(
        project,
        names,
        { accountId, audienceId: message.audience_id },
        `mParticle audience ${message.audience_id}, kept in step by audience-bridge`,
      );
      const distinct = name === names[0] ? '' : ` (named "${name}": a list of the first name feeds another audience)`;
      this.logger.log(`account ${accountId} audience ${message.audience_id}: ${created ? 'created' : 'found'} Iterable list ${listId}${distinct}`);
      return { listId };
    } catch (error) {
      if (error instanceof ListClaimBusyError) {
        this.logger.warn(`account ${accountId} audience ${message.audience_id}: ${error.message}; answered 503 for mParticle to send it again`);
        throw new ServiceUnavailableException(`${error.message}: send the subscription again`);
      }
      if (!(error instanceof NoListNameLeftError) && !isIterableError(error)) throw error;
      this.logger.warn(
        `account ${accountId} audience ${message.audience_id}: no list could be found or created ` +
          `(${error instanceof Error ? error.message : String(error)}); its changes are held`,
      );
      return {
        heldReason:
          error instanceof NoListNameLeftError
            ? "every name the naming rule gives is taken by another audience's list: give it a listId"
            : 'Iterable could not find or create its list in time: held until a later subscription or an operator gives it one',
      };
    }
  }

  /**
   * `onAudienceRemove: delete`: the audience's list goes too, if it still has a name the rule gives it and no
   * other connection (of any account, not removed) feeds it; a list kept says why in the log.
   */
  private async deleteCreatedList(
    message: AudienceSubscriptionRequest,
    settings: ReturnType<typeof parseAccountSettings>,
    listSettings: ListSettings,
    listId: number,
  ): Promise<void> {
    const accountId = message.account.account_id;
    const audienceId = message.audience_id;
    const feeders = await this.claims.otherFeeders(listId, { accountId, audienceId });
    if (feeders.length > 0) {
      const named = feeders.slice(0, 5).map((f) => `account ${f.accountId} audience ${f.audienceId}`);
      this.logger.log(
        `account ${accountId} audience ${audienceId}: Iterable list ${listId} kept: ${feeders.length} other connection(s) still feed it ` +
          `(${named.join(', ')}${feeders.length > named.length ? ', …' : ''})`,
      );
      return;
    }
    const project = await this.projectOf(message, settings);
    if (!project) return;
    const names = listNameCandidates(listSettings.listNameTemplate, { accountId, audienceId, audienceName: message.audience_name });
    try {
      const deleted = names.length > 0 && (await this.lists.deleteIfNamed(project, listId, names));
      this.logger.log(`account ${accountId} audience ${audienceId}: Iterable list ${listId} ${deleted ? 'deleted' : 'kept (not a list we created)'}`);
    } catch (error) {
      this.logger.warn(
        `account ${accountId} audience ${audienceId}: list ${listId} could not be deleted (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }

  private async membershipChange(received: AudienceMembershipChangeRequest): Promise<object> {
    const accountId = received.account.account_id;
    const message = await this.withoutErasedSubjects(received);
    const settings = parseAccountSettings(message.account);
    // Only the attributes the account lists are kept (none by default); attribute_update entries change fields only.
    const forwarded = parseForwardAttributes(message.account);
    // The audiences' settings as the whole message states them, erased subjects' entries included: they are
    // mParticle's settings, not the subject's data, and so apply whichever of message and erasure arrives first.
    const storedListIds = await this.storedListIds(received);
    const { changes, unroutable } = mapMembershipChanges(message, settings, { listIdFor: (audienceId) => storedListIds.get(audienceId) });

    // Audiences without a list: their changes are recorded and held (a later message or an operator releases them).
    const held = [...new Set(unroutable.filter((u) => u.reason === 'missing listId').map((u) => u.audienceId))];
    if (held.length > 0) {
      this.logger.warn(
        `message ${message.id}: audience(s) ${held.join(', ')} of account ${accountId} name no usable listId (none, or not a positive integer): ` +
          'their changes are held',
      );
      await this.connections.hold(
        accountId,
        held.map((audienceId) => ({ audienceId, audienceName: audienceNameOf(message, audienceId) })),
      );
    }
    const anonymous = unroutable.filter((u) => u.reason === 'no user identity').length;
    if (anonymous > 0) this.logger.warn(`message ${message.id}: ${anonymous} change(s) without any user identity ignored`);

    const result = await this.ingest.record({
      accountId,
      messageId: message.id,
      timestampMs: message.timestamp_ms,
      settings,
      connections: messageConnections(received, storedListIds),
      changes: coalesce(changes, audienceUserKey),
      attributes: mapAttributeChanges(message, settings, forwarded),
    });
    if (result.keyChanged) this.keyChanged(accountId);
    this.signal(accountId, result.pendingLists);
    // Suspend only when nothing of the message can be delivered until someone fixes the settings.
    const audiences = new Set(changes.map((c) => c.audienceId));
    const nothingRoutable = audiences.size > 0 && [...audiences].every((a) => held.includes(a));
    return buildAudienceMembershipChangeResponse(message, result.suspended || nothingRoutable);
  }

  /**
   * The message without the users an erasure stamped at or after it names (README "Erasure"): their changes are
   * acknowledged, counted and dropped, so nothing of them is stored again. A change stamped after the erasure is
   * a new consent and kept.
   */
  private async withoutErasedSubjects(message: AudienceMembershipChangeRequest): Promise<AudienceMembershipChangeRequest> {
    const profiles = message.user_profiles ?? [];
    const erased = await this.erasures.erasedProfiles(message.account.account_id, profiles, profileIdentities, message.timestamp_ms);
    if (!erased.includes(true)) return message;
    // A change is a membership change or an attribute update (one audience entry each); a profile counts at least once.
    const changesOf = (p: FirehoseUserProfile) =>
      Math.max(1, profileAudienceChanges(p).length + (p.audiences ?? []).filter((a) => a.action === 'attribute_update').length);
    const dropped = profiles.filter((_, i) => erased[i]).reduce((n, p) => n + changesOf(p), 0);
    this.metrics.erasedChangesDropped.inc(dropped);
    this.logger.log(`message ${message.id}: ${dropped} change(s) of erased subject(s), stamped before their erasure, dropped`);
    return { ...message, user_profiles: profiles.filter((_, i) => !erased[i]) };
  }

  /**
   * An erasure: stored with the subject's desired state removed before the answer (the worker forgets them
   * at Iterable and removes the rest, README "Erasure"). Repeats of one request id are one erasure.
   * Identifiers are never logged.
   */
  private async dataSubjectRequest(message: DsrProcessingRequest): Promise<object> {
    const accountId = message.account.account_id;
    const settings = parseAccountSettings(message.account);
    const applied = await this.accounts.applyMparticle(accountId, settings, message.timestamp_ms);
    if (applied.keyChanged) this.keyChanged(accountId);
    const userIdField = (await this.accounts.find(accountId))?.userIdField ?? settings.userIdField;
    const erasure = await this.erasures.accept(accountId, message.subject_request_id, erasureSubject(message), userIdField, message.timestamp_ms);
    this.signal(accountId, erasure.listIds);
    this.logger.log(`erasure ${erasure.id} for account ${accountId} ${erasure.created ? 'accepted' : 'already known'}`);
    return buildDsrProcessingResponse(message);
  }

  /** The changes are committed: Redis is only the signal. If it is down, the sweeper re-enqueues later. */
  private signal(accountId: number, lists: number[]): void {
    if (lists.length === 0) return;
    this.producer.enqueue(lists.map((listId) => ({ listId }))).catch((error: unknown) => {
      // While Redis is known to be down that was said once already (RedisConnectionWatch); not again per message.
      const log = this.redisState.isDown ? 'debug' : 'warn';
      this.logger[log](`could not enqueue list sync for account ${accountId} (the sweeper will): ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** A new Iterable API key took effect (never logged itself). */
  private keyChanged(accountId: number): void {
    this.logger.log(`account ${accountId}: a new Iterable API key from mParticle is in force`);
    this.metrics.apiKeyChanges.inc({ source: 'mparticle' });
  }

  /** List ids of stored connections, for audience entries that do not carry one (rare: mParticle sends settings every time). */
  private async storedListIds(message: AudienceMembershipChangeRequest): Promise<Map<number, number>> {
    const lacking = new Set<number>();
    for (const profile of message.user_profiles ?? []) {
      for (const { audience } of profileAudienceChanges(profile)) {
        if (!isPositiveIntegerString(audience.audience_subscription_settings?.[SETTING_IDS.listId])) lacking.add(audience.audience_id);
      }
    }
    const found = new Map<number, number>();
    for (const audienceId of lacking) {
      const listId = await this.connections.listIdOf(message.account.account_id, audienceId);
      if (listId !== undefined) found.set(audienceId, listId);
    }
    return found;
  }
}
