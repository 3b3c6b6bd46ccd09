import type { DeliveryOutcome, FailureReason } from '@audience-bridge/domain';

import type { BulkListAction, BulkListResult, FailedUpdateCategory, IterableSubscriber, SubscriberVerdict } from './iterable.types';
import { FAILED_UPDATE_CATEGORIES } from './iterable.types';

/** A `UserBulkUpdateListResponse`, read leniently: missing arrays are empty, unknown fields ignored. */
export interface ParsedBulkResponse {
  successCount: number | undefined;
  failCount: number | undefined;
  failures: Record<FailedUpdateCategory, string[]>;
  createdFields: string[];
  filteredOutFields: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

const count = (value: unknown): number | undefined => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
};

export function parseBulkResponse(body: unknown): ParsedBulkResponse {
  const root = isObject(body) ? body : {};
  const failedUpdates = isObject(root.failedUpdates) ? root.failedUpdates : {};
  const failures = Object.fromEntries(FAILED_UPDATE_CATEGORIES.map((c) => [c, strings(failedUpdates[c])])) as Record<FailedUpdateCategory, string[]>;
  // The deprecated top-level copies may be all there is.
  for (const category of ['invalidEmails', 'invalidUserIds'] as const) {
    for (const value of strings(root[category])) if (!failures[category].includes(value)) failures[category].push(value);
  }
  return {
    successCount: count(root.successCount),
    failCount: count(root.failCount),
    failures,
    createdFields: strings(root.createdFields),
    filteredOutFields: strings(root.filteredOutFields),
  };
}

/** The category → reason map, in the order a user is checked (the first array naming the user decides). */
const CATEGORY_ORDER: readonly [FailedUpdateCategory, FailureReason][] = [
  ['forgottenEmails', 'forgotten'],
  ['forgottenUserIds', 'forgotten'],
  ['conflictEmails', 'conflict'],
  ['conflictUserIds', 'conflict'],
  ['invalidEmails', 'invalid email'],
  ['invalidUserIds', 'invalid userId'],
  ['invalidDataEmails', 'invalid data'],
  ['invalidDataUserIds', 'invalid data'],
  ['notFoundEmails', 'not found'],
  ['notFoundUserIds', 'not found'],
];

const isEmailCategory = (category: FailedUpdateCategory): boolean => category.endsWith('Emails');

/** The failure array naming this subscriber (emails compared case-insensitively, userIds exactly), if any. */
export function findCategory(
  subscriber: IterableSubscriber,
  lookup: ReadonlyMap<FailedUpdateCategory, ReadonlySet<string>>,
): [FailedUpdateCategory, FailureReason] | undefined {
  return CATEGORY_ORDER.find(([category]) => {
    const values = lookup.get(category);
    if (!values || values.size === 0) return false;
    const identifier = isEmailCategory(category) ? subscriber.email?.toLowerCase() : subscriber.userId;
    return identifier !== undefined && values.has(identifier);
  });
}

/**
 * Per-user verdicts for one answered call. A `notFound*` on unsubscribe means the user is already off the
 * list: delivered. Every per-user failure is permanent (retrying sends the same data again).
 */
export function bulkVerdicts<S extends IterableSubscriber>(
  action: BulkListAction,
  listId: number,
  subscribers: readonly S[],
  body: unknown,
): BulkListResult<S> {
  const parsed = parseBulkResponse(body);
  const lookup = new Map<FailedUpdateCategory, Set<string>>(
    FAILED_UPDATE_CATEGORIES.map((c) => [c, new Set(isEmailCategory(c) ? parsed.failures[c].map((v) => v.toLowerCase()) : parsed.failures[c])]),
  );
  let named = 0;
  const verdicts = subscribers.map((subscriber): SubscriberVerdict<S> => {
    const found = findCategory(subscriber, lookup);
    if (!found) return { subscriber, outcome: { kind: 'delivered' } };
    named++;
    const [category, reason] = found;
    if (reason === 'not found' && action === 'unsubscribe') return { subscriber, outcome: { kind: 'delivered' }, category };
    const outcome: DeliveryOutcome = { kind: 'failed', reason, retryable: false, detail: `failedUpdates.${category}` };
    return { subscriber, outcome, category };
  });
  const { successCount, failCount } = parsed;
  return {
    action,
    listId,
    verdicts,
    successCount,
    failCount,
    countMismatch: successCount === undefined || failCount === undefined || successCount + failCount !== subscribers.length,
    unattributedFailures: Math.max(0, (failCount ?? 0) - named),
    createdFields: parsed.createdFields,
    filteredOutFields: parsed.filteredOutFields,
  };
}
