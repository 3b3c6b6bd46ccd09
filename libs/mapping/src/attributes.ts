import type { AccountSettings } from '@audience-bridge/domain';
import { AudienceMembershipChangeRequest, AttributeType, ForwardedAttributes, RawAttributeChange, profileAttributeChanges } from '@audience-bridge/mparticle';
import { resolveSubscriber, userKeyOf } from './resolve-subscriber';

/** An Iterable field value: what `dataFields` carries for a forwarded attribute (null clears the field). */
export type FieldValue = string | number | boolean | null | (string | number | boolean)[];

/** Why a value was not forwarded (recorded as a skipped verdict; at most 32 characters). */
export const ATTRIBUTE_SKIP_REASONS = {
  notANumber: 'attribute not a number',
  notABoolean: 'attribute not a boolean',
  notADate: 'attribute not a date',
  noValue: 'attribute without a value',
  dateOutOfRange: 'attribute date out of range',
  numberOutOfRange: 'attribute number out of range',
  tooLong: 'attribute value too long',
} as const;

/** The longest value forwarded, in UTF-8 bytes (a string, or a list as JSON): Iterable indexes far less than a megabyte. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 2048;
/** Dates forwarded: years 1900 to 2200 (year 0 or 9999 is a mistake, not a birthday). */
export const DATE_RANGE = { fromYear: 1900, toYear: 2200 } as const;
export type AttributeSkipReason = (typeof ATTRIBUTE_SKIP_REASONS)[keyof typeof ATTRIBUTE_SKIP_REASONS];

export type TypedAttribute = { value: FieldValue; skipReason?: undefined } | { value?: undefined; skipReason: AttributeSkipReason };

const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, '1': true, '0': false };
/** Plain decimal numbers only (no hex, no Infinity, no empty string, which Number() would take as 0). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** An epoch: exactly 10 digits (seconds) or 13 (milliseconds); 11 or 12 digits could be either and are refused. */
const EPOCH = /^(\d{10}|\d{13})$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})([T ][\d:.]+)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const INTEGER = /^[+-]?\d+$/;

type Typed = { value: string | number | boolean } | { reason: AttributeSkipReason };
const ok = (value: string | number | boolean): Typed => ({ value });
const refuse = (reason: AttributeSkipReason): Typed => ({ reason });

/** One string as the type: a typed value, or the reason it cannot be one. */
function typeOne(raw: string, type: AttributeType): Typed {
  const text = raw.trim();
  switch (type) {
    case 'string':
      return Buffer.byteLength(raw, 'utf8') > MAX_ATTRIBUTE_VALUE_BYTES ? refuse(ATTRIBUTE_SKIP_REASONS.tooLong) : ok(raw);
    case 'number': {
      if (!NUMBER.test(text)) return refuse(ATTRIBUTE_SKIP_REASONS.notANumber);
      const n = Number(text);
      if (!Number.isFinite(n)) return refuse(ATTRIBUTE_SKIP_REASONS.notANumber);
      // An integer past 2^53 − 1 is not stored exactly: refused rather than sent rounded.
      return INTEGER.test(text) && !Number.isSafeInteger(n) ? refuse(ATTRIBUTE_SKIP_REASONS.numberOutOfRange) : ok(n);
    }
    case 'boolean': {
      const b = BOOLEANS[text.toLowerCase()];
      return b === undefined ? refuse(ATTRIBUTE_SKIP_REASONS.notABoolean) : ok(b);
    }
    case 'date':
      return typeDate(text);
  }
}

/** A date as an ISO 8601 string in UTC: a real calendar date (2024-02-30 is not one) within `DATE_RANGE`. */
function typeDate(text: string): Typed {
  let ms: number;
  if (EPOCH.test(text)) ms = Number(text.length === 10 ? `${text}000` : text);
  else {
    const parts = ISO_DATE.exec(text);
    if (!parts) return refuse(ATTRIBUTE_SKIP_REASONS.notADate);
    const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    const calendar = new Date(0);
    calendar.setUTCFullYear(year, month - 1, day);
    // A date rolls 2024-02-30 over to 2024-03-01: only one that comes back as written is a real calendar date.
    if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
      return refuse(ATTRIBUTE_SKIP_REASONS.notADate);
    }
    ms = Date.parse(text.replace(' ', 'T'));
  }
  if (!Number.isFinite(ms)) return refuse(ATTRIBUTE_SKIP_REASONS.notADate);
  const year = new Date(ms).getUTCFullYear();
  return year < DATE_RANGE.fromYear || year > DATE_RANGE.toYear ? refuse(ATTRIBUTE_SKIP_REASONS.dateOutOfRange) : ok(new Date(ms).toISOString());
}

/**
 * A change as Iterable should see it: `delete` clears the field (null), `upsert` sets it, typed as the account
 * says (dates as ISO 8601 strings in UTC); a `list_value` becomes an array of that type. A value that cannot
 * be typed (one list element is enough) is skipped with the reason.
 */
export function typeAttribute(change: Pick<RawAttributeChange, 'action' | 'value' | 'listValue'>, type: AttributeType): TypedAttribute {
  if (change.action === 'delete') return { value: null };
  if (change.listValue !== undefined) {
    const typed = change.listValue.map((v) => typeOne(v, type));
    const refused = typed.find((t): t is { reason: AttributeSkipReason } => 'reason' in t);
    if (refused) return { skipReason: refused.reason };
    const values = typed.map((t) => (t as { value: string | number | boolean }).value);
    if (Buffer.byteLength(JSON.stringify(values), 'utf8') > MAX_ATTRIBUTE_VALUE_BYTES) return { skipReason: ATTRIBUTE_SKIP_REASONS.tooLong };
    return { value: values };
  }
  if (change.value === undefined) return { skipReason: ATTRIBUTE_SKIP_REASONS.noValue };
  const typed = typeOne(change.value, type);
  return 'reason' in typed ? { skipReason: typed.reason } : { value: typed.value };
}

/** One forwarded attribute of one user, as ingest stores it (newest `timestampMs` per account, user, key wins). */
export interface AttributeChange {
  accountId: number;
  userKey: string;
  key: string;
  /** The typed value as JSON (`null` clears the field); undefined when skipped. */
  valueJson: string | null;
  skipReason: string | null;
  mpid: string | null;
  email: string | null;
  userId: string | null;
  sourceMessageId: string;
  timestampMs: number;
}

/**
 * The forwarded attribute changes of a membership message, one per (user, key), sorted by (user, key) so
 * concurrent transactions lock rows in one order. A profile without a user key is left out; a profile Iterable
 * cannot identify is kept with no identity (the worker records it skipped).
 */
export function mapAttributeChanges(
  request: AudienceMembershipChangeRequest,
  settings: Pick<AccountSettings, 'userIdField'>,
  forwarded: ForwardedAttributes,
): AttributeChange[] {
  if (forwarded.size === 0) return [];
  const byKey = new Map<string, AttributeChange>();
  for (const profile of request.user_profiles ?? []) {
    const changes = profileAttributeChanges(profile, forwarded);
    const userKey = changes.length > 0 ? userKeyOf(profile) : undefined;
    if (userKey === undefined) continue;
    const { subscriber } = resolveSubscriber(profile, settings);
    for (const change of changes) {
      const typed = typeAttribute(change, forwarded.get(change.key) as AttributeType);
      byKey.set(`${userKey}\u0000${change.key}`, {
        accountId: request.account.account_id,
        userKey,
        key: change.key,
        valueJson: typed.skipReason === undefined ? JSON.stringify(typed.value) : null,
        skipReason: typed.skipReason ?? null,
        mpid: profile.mpid ?? null,
        email: subscriber?.email ?? null,
        userId: subscriber?.userId ?? null,
        sourceMessageId: request.id,
        timestampMs: request.timestamp_ms,
      });
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, change]) => change);
}

/** Newest wins per (account, user, attribute), the rule ingest's SQL applies: greater timestamp, then greater message id. */
export function attributeSupersedes(
  incoming: Pick<AttributeChange, 'timestampMs' | 'sourceMessageId'>,
  stored: Pick<AttributeChange, 'timestampMs' | 'sourceMessageId'>,
): boolean {
  return incoming.timestampMs > stored.timestampMs || (incoming.timestampMs === stored.timestampMs && incoming.sourceMessageId > stored.sourceMessageId);
}
