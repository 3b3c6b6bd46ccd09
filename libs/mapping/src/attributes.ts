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
} as const;
export type AttributeSkipReason = (typeof ATTRIBUTE_SKIP_REASONS)[keyof typeof ATTRIBUTE_SKIP_REASONS];

export type TypedAttribute = { value: FieldValue; skipReason?: undefined } | { value?: undefined; skipReason: AttributeSkipReason };

const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, '1': true, '0': false };
/** Plain decimal numbers only (no hex, no Infinity, no empty string, which Number() would take as 0). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** An epoch in milliseconds, or a date Date.parse reads that starts like an ISO date (yyyy-mm-dd…). */
const EPOCH_MS = /^\d{10,13}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** One string as the type: a typed value, or undefined when it cannot be one. */
function typeOne(raw: string, type: AttributeType): string | number | boolean | undefined {
  const text = raw.trim();
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      if (!NUMBER.test(text)) return undefined;
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      return BOOLEANS[text.toLowerCase()];
    case 'date': {
      const ms = EPOCH_MS.test(text) ? Number(text.length === 10 ? `${text}000` : text) : ISO_DATE.test(text) ? Date.parse(text.replace(' ', 'T')) : Number.NaN;
      return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
    }
  }
}

const SKIP_FOR: Record<Exclude<AttributeType, 'string'>, AttributeSkipReason> = {
  number: ATTRIBUTE_SKIP_REASONS.notANumber,
  boolean: ATTRIBUTE_SKIP_REASONS.notABoolean,
  date: ATTRIBUTE_SKIP_REASONS.notADate,
};

/**
 * A change as Iterable should see it: `delete` clears the field (null), `upsert` sets it, typed as the account
 * says (dates as ISO 8601 strings in UTC); a `list_value` becomes an array of that type. A value that cannot
 * be typed (one list element is enough) is skipped with the reason.
 */
export function typeAttribute(change: Pick<RawAttributeChange, 'action' | 'value' | 'listValue'>, type: AttributeType): TypedAttribute {
  if (change.action === 'delete') return { value: null };
  if (change.listValue !== undefined) {
    const typed = change.listValue.map((v) => typeOne(v, type));
    return typed.every((v) => v !== undefined)
      ? { value: typed as (string | number | boolean)[] }
      : { skipReason: SKIP_FOR[type as Exclude<AttributeType, 'string'>] };
  }
  if (change.value === undefined) return { skipReason: ATTRIBUTE_SKIP_REASONS.noValue };
  const typed = typeOne(change.value, type);
  return typed === undefined ? { skipReason: SKIP_FOR[type as Exclude<AttributeType, 'string'>] } : { value: typed };
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
