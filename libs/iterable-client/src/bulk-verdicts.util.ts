import type { DeliveryOutcome, FailureReason } from '@audience-bridge/domain';

import type { BulkListAction, BulkListResult, FailedUpdateCategory, IterableSubscriber, SubscriberVerdict } from './iterable.types';
import { FAILED_UPDATE_CATEGORIES } from './iterable.types';

/**
 * A `UserBulkUpdateListResponse`, read leniently: missing arrays are empty, unknown top-level fields ignored.
 * Every array inside `failedUpdates` is a failure category, including ones Iterable adds later (`otherFailures`).
 */
export interface ParsedBulkResponse {
  successCount: number | undefined;
  failCount: number | undefined;
  failures: Record<FailedUpdateCategory, string[]>;
  /** Arrays inside `failedUpdates` with a name we do not know, by that name (in the answer's order). */
  otherFailures: Record<string, string[]>;
  createdFields: string[];
  filteredOutFields: string[];
}

const KNOWN_CATEGORIES: ReadonlySet<string> = new Set(FAILED_UPDATE_CATEGORIES);
const isKnownCategory = (name: string): name is FailedUpdateCategory => KNOWN_CATEGORIES.has(name);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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
  const otherFailures: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(failedUpdates)) {
    if (!isKnownCategory(name) && Array.isArray(value)) otherFailures[name] = strings(value);
  }
  // The deprecated top-level copies may be all there is.
  for (const category of ['invalidEmails', 'invalidUserIds'] as const) {
    for (const value of strings(root[category])) if (!failures[category].includes(value)) failures[category].push(value);
  }
  return {
    successCount: count(root.successCount),
    failCount: count(root.failCount),
    failures,
    otherFailures,
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

/** Which identifier an array names, by its name: `…Emails`, `…UserIds`, or (a name saying neither) either. */
function namesWhat(category: string): 'email' | 'userId' | 'either' {
  const lower = category.toLowerCase();
  if (lower.endsWith('emails') || lower.endsWith('email')) return 'email';
  if (lower.endsWith('userids') || lower.endsWith('userid')) return 'userId';
  return 'either';
}

/** An array's values as lookup keys: `e:` and the value lower-cased as an email, `u:` and the value exactly as a userId. */
export function categoryKeys(category: string, values: readonly string[]): Set<string> {
  const what = namesWhat(category);
  const keys = new Set<string>();
  for (const value of values) {
    if (what !== 'userId') keys.add(`e:${value.toLowerCase()}`);
    if (what !== 'email') keys.add(`u:${value}`);
  }
  return keys;
}

/** The subscriber's lookup keys for an array of this name (emails compared case-insensitively, userIds exactly). */
function subscriberKeys(subscriber: IterableSubscriber, category: string): string[] {
  const what = namesWhat(category);
  return [
    ...(what !== 'userId' && subscriber.email !== undefined ? [`e:${subscriber.email.toLowerCase()}`] : []),
    ...(what !== 'email' && subscriber.userId !== undefined ? [`u:${subscriber.userId}`] : []),
  ];
}

/**
 * The failure array naming this subscriber, if any, with our reason for it: the known categories in
 * CATEGORY_ORDER, then any other array (reason `bad request`: Iterable refused the user for a reason we have no
 * name for). `lookup` holds each array's `categoryKeys`.
 */
export function findCategory(subscriber: IterableSubscriber, lookup: ReadonlyMap<string, ReadonlySet<string>>): [string, FailureReason] | undefined {
  const names = (category: string): boolean => {
    const values = lookup.get(category);
    return values !== undefined && values.size > 0 && subscriberKeys(subscriber, category).some((key) => values.has(key));
  };
  const known = CATEGORY_ORDER.find(([category]) => names(category));
  if (known) return known;
  for (const category of lookup.keys()) if (!isKnownCategory(category) && names(category)) return [category, 'bad request'];
  return undefined;
}

/**
 * What the audit records as a failed verdict's reason: ours for the categories we know (`forgotten`, …),
 * Iterable's own array name for one we do not (`failedUpdates.<name>`), so nothing it said is lost.
 */
export function verdictReason(verdict: Pick<SubscriberVerdict, 'outcome' | 'category'>): string | null {
  if (verdict.outcome.kind === 'delivered') return null;
  if (verdict.category !== undefined && !isKnownCategory(verdict.category)) return `failedUpdates.${verdict.category}`;
  return verdict.outcome.reason;
}

/**
 * Per-user verdicts for one answered call. A `notFound*` on unsubscribe means the user is already off the
 * list: delivered. Every per-user failure is permanent (retrying sends the same data again), including one in
 * an array we do not know: no array Iterable sends there is known to be transient.
 */
export function bulkVerdicts<S extends IterableSubscriber>(
  action: BulkListAction,
  listId: number,
  subscribers: readonly S[],
  body: unknown,
): BulkListResult<S> {
  const parsed = parseBulkResponse(body);
  const lookup = new Map<string, Set<string>>();
  for (const c of FAILED_UPDATE_CATEGORIES) lookup.set(c, categoryKeys(c, parsed.failures[c]));
  for (const [c, values] of Object.entries(parsed.otherFailures)) lookup.set(c, categoryKeys(c, values));
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
