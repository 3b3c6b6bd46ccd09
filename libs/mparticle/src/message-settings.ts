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
  /** False when no entry of the audience carried a list of its own and the stored one stands in (the message states none). */
  stated: boolean;
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

/** Iterable documents no limit on list names (docs/iterable-api.md §6); we keep them to 255 characters. */
export const MAX_LIST_NAME_LENGTH = 255;

/**
 * Characters a list name never carries: C0 and C1 controls (NUL included), DEL, the bidi embeddings and overrides
 * (U+202A–U+202E), the bidi isolates (U+2066–U+2069) and the LRM/RLM marks (U+200E, U+200F), which could make a
 * name read differently from what it is.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_NAME_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without the characters a list name never carries. */
export function cleanListName(text: string): string {
  return text.replace(UNSAFE_NAME_CHARACTERS, '');
}

/** The template's placeholders; anything else in braces (in the template or in an audience name) stays as it is. */
const PLACEHOLDERS = /\{(audienceName|audienceId|accountId)\}/g;

/** The first `max` code points of `text` (a surrogate pair is never cut in half). */
function codePoints(text: string, max: number): string {
  return [...text].slice(0, Math.max(0, max)).join('');
}

/**
 * The names a list created for an audience may take, in order (README "Lists created for you"): the template
 * filled in, then `<name> (<audienceId>)`, then `<name> (<accountId>-<audienceId>)`: the next one is used when a list
 * of the name before already belongs to another audience. The template is filled in one pass, so a `{...}` inside
 * the audience name is never expanded; unsafe characters are stripped; each name is at most
 * MAX_LIST_NAME_LENGTH characters, made to fit by shortening the audience name, never the suffix. Empty when the
 * name is blank after stripping: no list is created and the audience is held.
 */
export function listNameCandidates(template: string, audience: { accountId: number; audienceId: number; audienceName: string }): string[] {
  const values: Record<string, string> = {
    audienceName: cleanListName(audience.audienceName).trim(),
    audienceId: String(audience.audienceId),
    accountId: String(audience.accountId),
  };
  const cleanTemplate = cleanListName(template);
  const occurrences = [...cleanTemplate.matchAll(PLACEHOLDERS)].filter((m) => m[1] === 'audienceName').length;
  const fill = (nameLength: number) =>
    cleanTemplate
      .replace(PLACEHOLDERS, (_match, key: string) => (key === 'audienceName' ? codePoints(values['audienceName'] ?? '', nameLength) : (values[key] ?? '')))
      .trim();
  const full = fill(Number.MAX_SAFE_INTEGER);
  if (full.length === 0) return [];
  const withinLimit = (suffix: string): string => {
    const limit = MAX_LIST_NAME_LENGTH - suffix.length;
    let nameLength = [...(values['audienceName'] ?? '')].length;
    let name = full;
    while (name.length > limit && occurrences > 0 && nameLength > 0) {
      nameLength = Math.max(0, nameLength - Math.max(1, Math.ceil((name.length - limit) / (2 * occurrences))));
      name = fill(nameLength);
    }
    // A template whose other parts alone are too long: cut them too (the suffix stays whole).
    if (name.length > limit) name = codePoints(name, limit);
    while (name.length > limit) name = [...name].slice(0, -1).join('');
    return `${name}${suffix}`;
  };
  return [withinLimit(''), withinLimit(` (${audience.audienceId})`), withinLimit(` (${audience.accountId}-${audience.audienceId})`)];
}

/** The name of the list created for an audience (the first of `listNameCandidates`); undefined when it is blank. */
export function listNameFor(template: string, audience: { accountId: number; audienceId: number; audienceName: string }): string | undefined {
  return listNameCandidates(template, audience)[0];
}

/**
 * The audiences a membership message names with their list, one per audience (the last entry that carries a list
 * wins); an audience none of whose entries carries one falls back to `storedListIds` (`stated: false`), and an
 * audience with neither is left out (held).
 */
export function messageConnections(message: AudienceMembershipChangeRequest, storedListIds: ReadonlyMap<number, number>): MessageConnection[] {
  const byAudience = new Map<number, MessageConnection>();
  for (const profile of message.user_profiles ?? []) {
    for (const { audience } of profileAudienceChanges(profile)) {
      const setting = audience.audience_subscription_settings?.[SETTING_IDS.listId];
      const stated = isPositiveIntegerString(setting);
      const listId = stated ? Number(setting) : storedListIds.get(audience.audience_id);
      if (listId === undefined || (!stated && byAudience.has(audience.audience_id))) continue;
      byAudience.set(audience.audience_id, { audienceId: audience.audience_id, audienceName: audienceNameOf(message, audience.audience_id), listId, stated });
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
