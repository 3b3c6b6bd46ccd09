import {
  AccountSettings,
  DEFAULT_DATA_CENTER,
  DEFAULT_USER_ID_FIELD,
  DomainError,
  DomainErrorCode,
  UserIdField,
  isDataCenter,
  isUserIdField,
} from '@audience-bridge/domain';
import { DEFAULT_LIST_NAME_TEMPLATE, ON_AUDIENCE_REMOVE, OnAudienceRemove, SETTING_IDS } from './firehose.constants';
import type { AudienceMembershipChangeRequest, FirehoseAccount } from './firehose-messages';
import { isPositiveIntegerString } from './firehose-validators';
import { profileAudienceChanges } from './profile-audiences';

/** The account settings a Firehose message carries. */
export interface MessageAccountSettings extends AccountSettings {
  apiKey?: string;
}

/** One audience of a membership message, routed to its Iterable list. */
export interface MessageConnection {
  audienceId: number;
  audienceName: string;
  listId: number;
}

/** Iterable keys are 32 hex characters; anything far longer is a mistake, not a key. */
const MAX_API_KEY_LENGTH = 256;

/** Obvious spellings of mParticle's setting values: case, spaces, underscores and hyphens do not matter. */
const USER_ID_FIELD_SPELLINGS: Record<string, UserIdField> = { customerid: 'customerId', mpid: 'mpid', mparticleid: 'mpid' };
const normalizeSetting = (value: string): string => value.toLowerCase().replace(/[\s_-]+/g, '');

/** The account settings of a message, with mParticle's defaults; a value we cannot use is a 400 naming it. */
export function parseAccountSettings(account: FirehoseAccount): MessageAccountSettings {
  const raw = account.account_settings ?? {};
  const rawUserIdField = raw[SETTING_IDS.userIdField];
  const rawDataCenter = raw[SETTING_IDS.dataCenter];
  const userIdField = rawUserIdField == null ? DEFAULT_USER_ID_FIELD : (USER_ID_FIELD_SPELLINGS[normalizeSetting(rawUserIdField)] ?? rawUserIdField);
  const dataCenter = rawDataCenter == null ? DEFAULT_DATA_CENTER : rawDataCenter.trim().toUpperCase();
  const apiKey = raw[SETTING_IDS.apiKey] ?? undefined;
  const issues = [
    ...(isUserIdField(userIdField)
      ? []
      : [{ path: 'account.account_settings.userIdField', message: 'account.account_settings.userIdField must be customerId or mpid' }]),
    ...(isDataCenter(dataCenter) ? [] : [{ path: 'account.account_settings.dataCenter', message: 'account.account_settings.dataCenter must be US or EU' }]),
    ...(apiKey === undefined || apiKey.trim().length > 0
      ? []
      : [{ path: 'account.account_settings.apiKey', message: 'account.account_settings.apiKey must not be empty' }]),
    ...(apiKey == null || apiKey.length <= MAX_API_KEY_LENGTH
      ? []
      : [{ path: 'account.account_settings.apiKey', message: `account.account_settings.apiKey must be at most ${MAX_API_KEY_LENGTH} characters` }]),
  ];
  if (issues.length > 0) throw new DomainError(DomainErrorCode.InvalidSettings, issues.map((i) => i.message).join('; '), issues);
  return { userIdField: userIdField as UserIdField, dataCenter: dataCenter as AccountSettings['dataCenter'], ...(apiKey ? { apiKey: apiKey.trim() } : {}) };
}

/** How lists are created for audiences that name none (account settings; see README "Lists created for you"). */
export interface ListSettings {
  listNameTemplate: string;
  onAudienceRemove: OnAudienceRemove;
}

/** The list settings of a message, with their defaults; a value we cannot use is a 400 naming it. */
export function parseListSettings(account: FirehoseAccount): ListSettings {
  const raw = account.account_settings ?? {};
  const template = raw[SETTING_IDS.listNameTemplate]?.trim() || DEFAULT_LIST_NAME_TEMPLATE;
  const onRemove = raw[SETTING_IDS.onAudienceRemove]?.trim().toLowerCase() || 'keep';
  const issues = [
    ...(template.length <= 200
      ? []
      : [{ path: 'account.account_settings.listNameTemplate', message: 'account.account_settings.listNameTemplate must be at most 200 characters' }]),
    ...((ON_AUDIENCE_REMOVE as readonly string[]).includes(onRemove)
      ? []
      : [
          {
            path: 'account.account_settings.onAudienceRemove',
            message: `account.account_settings.onAudienceRemove must be ${ON_AUDIENCE_REMOVE.join(' or ')}`,
          },
        ]),
  ];
  if (issues.length > 0) throw new DomainError(DomainErrorCode.InvalidSettings, issues.map((i) => i.message).join('; '), issues);
  return { listNameTemplate: template, onAudienceRemove: onRemove as OnAudienceRemove };
}

/** The name of the list created for an audience: the template filled in, at most 255 characters (never empty). */
export function listNameFor(template: string, audience: { accountId: number; audienceId: number; audienceName: string }): string {
  const name = template
    .split('{audienceName}')
    .join(audience.audienceName)
    .split('{audienceId}')
    .join(String(audience.audienceId))
    .split('{accountId}')
    .join(String(audience.accountId))
    .trim()
    .slice(0, 255);
  return name || `audience ${audience.audienceId}`;
}

/**
 * The audiences a membership message names with their list, one per audience (the last entry wins); an entry
 * without a list of its own falls back to `storedListIds`, and an audience with neither is left out (held).
 */
export function messageConnections(message: AudienceMembershipChangeRequest, storedListIds: ReadonlyMap<number, number>): MessageConnection[] {
  const byAudience = new Map<number, MessageConnection>();
  for (const profile of message.user_profiles ?? []) {
    for (const { audience } of profileAudienceChanges(profile)) {
      const setting = audience.audience_subscription_settings?.[SETTING_IDS.listId];
      const listId = isPositiveIntegerString(setting) ? Number(setting) : storedListIds.get(audience.audience_id);
      if (listId === undefined) continue;
      byAudience.set(audience.audience_id, { audienceId: audience.audience_id, audienceName: audienceNameOf(message, audience.audience_id), listId });
    }
  }
  return [...byAudience.values()];
}

/** The name a message gives an audience (`audience <id>` when it gives none). */
export function audienceNameOf(message: AudienceMembershipChangeRequest, audienceId: number): string {
  for (const profile of message.user_profiles ?? []) {
    for (const { audience } of profileAudienceChanges(profile))
      if (audience.audience_id === audienceId && audience.audience_name) return audience.audience_name;
  }
  return `audience ${audienceId}`;
}
