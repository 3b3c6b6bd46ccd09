import { Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { Secrets } from '@audience-bridge/config';
import { DEFAULT_DATA_CENTER, DEFAULT_USER_ID_FIELD, DomainError, DomainErrorCode, isDataCenter, isUserIdField } from '@audience-bridge/domain';
import { audienceUserKey, coalesce, mapMembershipChanges } from '@audience-bridge/mapping';
import {
  AudienceMembershipChangeRequest,
  AudienceSubscriptionRequest,
  FIREHOSE_REQUEST_TYPES,
  FirehoseAccount,
  SETTING_IDS,
  buildAudienceMembershipChangeResponse,
  buildAudienceSubscriptionResponse,
  buildRegistrationResponse,
  isPositiveIntegerString,
  parseFirehoseRequest,
  profileAudienceChanges,
} from '@audience-bridge/mparticle';
import { AccountsRepository, AudienceConnectionsRepository, IncomingAccountSettings, IncomingConnection, MembershipIngestRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { SECRETS } from '../auth/secrets';
import { credentialOf, secretsMatch } from '../auth/token-compare';

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
    private readonly producer: ListSyncProducer,
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
      default:
        return this.membershipChange(message as AudienceMembershipChangeRequest);
    }
  }

  /** add and update create or change the connection; remove stops forwarding and leaves the Iterable list as it is. */
  private async subscription(message: AudienceSubscriptionRequest): Promise<object> {
    const settings = accountSettings(message.account);
    const accountId = message.account.account_id;
    const listSetting = message.audience_subscription_settings?.[SETTING_IDS.listId];
    if (message.action !== 'remove' && settings.apiKey !== undefined) await this.accounts.upsert(accountId, settings);
    const before = await this.connections.find(accountId, message.audience_id);
    // A changed list, or an audience added again after a removal, is brought to the newest state by the repository.
    const after = await this.connections.upsert(accountId, message.audience_id, {
      audienceName: message.audience_name,
      ...(isPositiveIntegerString(listSetting) ? { listId: Number(listSetting) } : {}),
      ...(message.action === 'remove' ? { status: 'removed' as const } : message.action === 'add' ? { status: 'active' as const } : {}),
    });
    this.ingest.forget(accountId);
    const lists = [...new Set([before?.listId, after.listId].filter((l): l is number => typeof l === 'number'))];
    if (message.action !== 'remove' && lists.length > 0) {
      this.producer.enqueue(lists.map((listId) => ({ listId })), 0).catch((error: unknown) => {
        this.logger.warn(`could not enqueue list sync for account ${accountId} (the sweeper will): ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    this.logger.log(`audience subscription ${message.action}: account ${accountId} audience ${message.audience_id}`);
    return buildAudienceSubscriptionResponse(message);
  }

  private async membershipChange(message: AudienceMembershipChangeRequest): Promise<object> {
    const accountId = message.account.account_id;
    const settings = accountSettings(message.account);
    const storedListIds = await this.storedListIds(message);
    const { changes, unroutable } = mapMembershipChanges(message, settings, { listIdFor: (audienceId) => storedListIds.get(audienceId) });

    const missingList = unroutable.find((u) => u.reason === 'missing listId');
    if (missingList) {
      const path = `user_profiles[${missingList.profileIndex}]`;
      throw new DomainError(DomainErrorCode.InvalidMessage, `${path}: audience ${missingList.audienceId} has no listId and no connection names one`, [
        { path: `${path}.audience_subscription_settings.listId`, message: `audience ${missingList.audienceId} has no listId` },
      ]);
    }
    if (unroutable.length > 0) this.logger.warn(`message ${message.id}: ${unroutable.length} change(s) without any user identity ignored`);

    const result = await this.ingest.record({
      accountId,
      messageId: message.id,
      settings,
      connections: connectionsOf(message, storedListIds),
      changes: coalesce(changes, audienceUserKey),
    });
    if (result.pendingLists.length > 0) {
      // The changes are committed: Redis is only the signal. If it is down, the sweeper re-enqueues later.
      this.producer.enqueue(result.pendingLists.map((listId) => ({ listId }))).catch((error: unknown) => {
        this.logger.warn(`could not enqueue list sync for account ${accountId} (the sweeper will): ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    return buildAudienceMembershipChangeResponse(message, result.suspended);
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

/** The account settings of a message, with mParticle's defaults; a value we cannot use is a 400 naming it. */
export function accountSettings(account: FirehoseAccount): IncomingAccountSettings {
  const raw = account.account_settings ?? {};
  const userIdField = raw[SETTING_IDS.userIdField] ?? DEFAULT_USER_ID_FIELD;
  const dataCenter = raw[SETTING_IDS.dataCenter] ?? DEFAULT_DATA_CENTER;
  const apiKey = raw[SETTING_IDS.apiKey] ?? undefined;
  const issues = [
    ...(isUserIdField(userIdField) ? [] : [{ path: 'account.account_settings.userIdField', message: 'account.account_settings.userIdField must be customerId or mpid' }]),
    ...(isDataCenter(dataCenter) ? [] : [{ path: 'account.account_settings.dataCenter', message: 'account.account_settings.dataCenter must be US or EU' }]),
    ...(apiKey === undefined || apiKey.trim().length > 0 ? [] : [{ path: 'account.account_settings.apiKey', message: 'account.account_settings.apiKey must not be empty' }]),
  ];
  if (issues.length > 0) throw new DomainError(DomainErrorCode.InvalidSettings, issues.map((i) => i.message).join('; '), issues);
  return { userIdField: userIdField as IncomingAccountSettings['userIdField'], dataCenter: dataCenter as IncomingAccountSettings['dataCenter'], ...(apiKey ? { apiKey: apiKey.trim() } : {}) };
}

/** The audience connections a message names, one per audience (the last entry wins). */
function connectionsOf(message: AudienceMembershipChangeRequest, storedListIds: Map<number, number>): IncomingConnection[] {
  const byAudience = new Map<number, IncomingConnection>();
  for (const profile of message.user_profiles ?? []) {
    for (const { audience } of profileAudienceChanges(profile)) {
      const setting = audience.audience_subscription_settings?.[SETTING_IDS.listId];
      const listId = isPositiveIntegerString(setting) ? Number(setting) : storedListIds.get(audience.audience_id);
      if (listId === undefined) continue;
      byAudience.set(audience.audience_id, { audienceId: audience.audience_id, audienceName: audience.audience_name ?? `audience ${audience.audience_id}`, listId });
    }
  }
  return [...byAudience.values()];
}
