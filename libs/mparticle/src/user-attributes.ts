import { DomainError, DomainErrorCode } from '@audience-bridge/domain';
import { ATTRIBUTE_TYPES, AttributeType, SETTING_IDS } from './firehose.constants';
import type { FirehoseAccount, FirehoseUserProfile } from './firehose-messages';

/** The attributes an account forwards to Iterable, by mParticle key, with the Iterable type each becomes. */
export type ForwardedAttributes = ReadonlyMap<string, AttributeType>;

/** More would be a mistake (Iterable's soft limit is 1,000 fields per project). */
export const MAX_FORWARDED_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_KEY_LENGTH = 255;

const SETTING_PATH = `account.account_settings.${SETTING_IDS.forwardAttributes}`;

/**
 * Iterable user fields that identify a user or that Iterable manages itself (docs/iterable-api.md §9): a forwarded
 * attribute of one of these names could re-address a user (`email`, `userId` in `dataFields` change who the user
 * is in hybrid and userId-based projects) or overwrite what Iterable keeps. Compared in lower case.
 */
export const RESERVED_FIELD_NAMES: readonly string[] = [
  'email',
  'userId',
  'emailListIds',
  'phoneNumber',
  'signupDate',
  'signupSource',
  'profileUpdatedAt',
  'itblInternal',
  'itblUserId',
  'unsubscribedChannelIds',
  'unsubscribedMessageTypeIds',
  'subscribedMessageTypeIds',
  'userListIds',
  'devices',
  'browserTokens',
  'createdAt',
  'updatedAt',
];
const RESERVED = new Set(RESERVED_FIELD_NAMES.map((n) => n.toLowerCase()));
/** Keys that are not plain field names: an object's own machinery, nested paths (Iterable reads `a.b` as a path), control characters. */
const NOT_PLAIN = (key: string) =>
  ['__proto__', 'constructor', 'prototype'].includes(key) || key.includes('.') || [...key].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * The `forwardAttributes` account setting: `key:type` entries separated by commas (or new lines), the type one
 * of string, number, boolean, date (a key without a type is a string). Empty or absent: nothing is forwarded.
 * A value we cannot use is a 400 naming the setting and the entry.
 */
export function parseForwardAttributes(account: FirehoseAccount): ForwardedAttributes {
  const raw = account.account_settings?.[SETTING_IDS.forwardAttributes]?.trim() ?? '';
  const forwarded = new Map<string, AttributeType>();
  if (raw === '') return forwarded;
  const problems: string[] = [];
  for (const entry of raw
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const at = entry.lastIndexOf(':');
    const key = (at < 0 ? entry : entry.slice(0, at)).trim();
    const type = (
      at < 0
        ? 'string'
        : entry
            .slice(at + 1)
            .trim()
            .toLowerCase()
    ) as AttributeType;
    if (key === '' || key.length > MAX_ATTRIBUTE_KEY_LENGTH)
      problems.push(`"${entry.slice(0, 40)}" needs a key of 1 to ${MAX_ATTRIBUTE_KEY_LENGTH} characters`);
    else if (RESERVED.has(key.toLowerCase()))
      problems.push(`"${key}" is an Iterable field this service may not set (it identifies users or Iterable manages it)`);
    else if (NOT_PLAIN(key)) problems.push(`"${key.slice(0, 40)}" is not a plain field name (no dots, control characters or prototype keys)`);
    else if (!ATTRIBUTE_TYPES.includes(type)) problems.push(`"${entry.slice(0, 40)}": the type must be ${ATTRIBUTE_TYPES.join(', ')}`);
    else if (forwarded.has(key) && forwarded.get(key) !== type) problems.push(`"${key}" is given two types`);
    else forwarded.set(key, type);
  }
  if (forwarded.size > MAX_FORWARDED_ATTRIBUTES) problems.push(`at most ${MAX_FORWARDED_ATTRIBUTES} attributes`);
  if (problems.length > 0) {
    const message = `${SETTING_PATH} must be key:type entries separated by commas: ${problems.join('; ')}`;
    throw new DomainError(DomainErrorCode.InvalidSettings, message, [{ path: SETTING_PATH, message }]);
  }
  return forwarded;
}

/** One user attribute change as mParticle sent it (values untyped: mParticle sends strings). */
export interface RawAttributeChange {
  key: string;
  action: 'upsert' | 'delete';
  value?: string;
  listValue?: string[];
}

const asText = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;

/**
 * The user attribute changes of one profile for the forwarded keys, from every audience entry (`add`,
 * `delete` and `attribute_update` alike), the last entry for a key winning. Entries without a key or an action
 * we know are ignored (the official sample even carries `{}`).
 */
export function profileAttributeChanges(profile: FirehoseUserProfile, forwarded: ForwardedAttributes): RawAttributeChange[] {
  if (forwarded.size === 0) return [];
  const byKey = new Map<string, RawAttributeChange>();
  for (const audience of profile.audiences ?? []) {
    for (const attribute of audience.user_attributes ?? []) {
      const key = typeof attribute.key === 'string' ? attribute.key.trim() : undefined;
      if (key === undefined || !forwarded.has(key)) continue;
      const action = attribute.action === 'delete' ? 'delete' : attribute.action === 'upsert' ? 'upsert' : undefined;
      if (action === undefined) continue;
      const value = asText(attribute.value);
      const listValue = Array.isArray(attribute.list_value) ? attribute.list_value.map(asText).filter((v): v is string => v !== undefined) : undefined;
      byKey.delete(key);
      byKey.set(key, { key, action, ...(value === undefined ? {} : { value }), ...(listValue === undefined ? {} : { listValue }) });
    }
  }
  return [...byKey.values()];
}
