import type { DataCenter, DeliveryOutcome } from '@audience-bridge/domain';

/**
 * What the client logs through. Nest's `Logger` fits as it is (`new Logger(IterableClient.name)`).
 * Every line is redacted (the API key never reaches the logger).
 */
export interface IterableLogger {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const NOOP_LOGGER: IterableLogger = {
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** One concurrency slot plus one rate token, held for one Iterable call. */
export interface LimiterLease {
  /** The call goes out now (the limiter may count it from now instead of from its grant). */
  sent?(): Promise<void>;
  release(): Promise<void>;
}

/** What the client needs from a rate limiter: wait for a slot, hand it back; optionally pause a key for everyone. */
export interface IterableRequestLimiter {
  acquire(apiKey: string): Promise<LimiterLease>;
  /** Iterable said "wait" (429 + Retry-After): no process may call with this key for `ms`. */
  pause?(apiKey: string, ms: number): Promise<void>;
}

export interface IterableClientOptions {
  /** The project's server-side API key. Sent as the `Api-Key` header only; never logged. */
  apiKey: string;
  dataCenter: DataCenter;
  /**
   * Replaces Iterable's hosts, for the fake or a proxy (the app passes ITERABLE_API_BASE_URL).
   * A string is the US base URL, and `<string>/eu` the EU one (the fake's data-center scheme);
   * an object names each data center's base URL.
   */
  baseUrlOverride?: string | Partial<Record<DataCenter, string>>;
  /** Whole-request timeout (default 10 000 ms). */
  timeoutMs?: number;
  logger?: IterableLogger;
  rateLimiter?: IterableRequestLimiter;
  /** Sockets kept per host by the keep-alive agents (default 16). */
  maxSockets?: number;
  userAgent?: string;
}

/** The identifiers (and optional profile fields) of one user for lists/subscribe or lists/unsubscribe. */
export interface IterableSubscriber {
  email?: string;
  userId?: string;
  /** Sent on subscribe only, and only when present. */
  dataFields?: Record<string, unknown>;
}

/** Per-call options of subscribe and unsubscribe. */
export interface CallOptions {
  /**
   * Runs after the rate limiter granted the request and immediately before it is sent; if it throws, nothing
   * is sent and the error is the call's. The delivery's fencing check (is the list still ours?) goes here.
   */
  beforeSend?: () => Promise<void>;
}

export interface SubscribeOptions extends CallOptions {
  /** userID-based and hybrid projects: skip unknown users instead of creating them. */
  updateExistingUsersOnly?: boolean;
  /** Email-based projects: create a user (placeholder email) for an unknown userId. */
  preferUserId?: boolean;
  /** Merge nested dataFields objects instead of replacing them. */
  mergeNestedObjects?: boolean;
}

export const FAILED_UPDATE_CATEGORIES = [
  'invalidEmails',
  'invalidUserIds',
  'notFoundEmails',
  'notFoundUserIds',
  'forgottenEmails',
  'forgottenUserIds',
  'conflictEmails',
  'conflictUserIds',
  'invalidDataEmails',
  'invalidDataUserIds',
] as const;
export type FailedUpdateCategory = (typeof FAILED_UPDATE_CATEGORIES)[number];

export type BulkListAction = 'subscribe' | 'unsubscribe';

/** Iterable's verdict on one user of one call. */
export interface SubscriberVerdict<S extends IterableSubscriber = IterableSubscriber> {
  /** The very object the caller passed. */
  subscriber: S;
  /** `delivered`, or `failed` with a permanent per-user reason (never retryable: fix the data). */
  outcome: DeliveryOutcome;
  /**
   * The failure array the user was found in; also set for an unsubscribe's `notFound*`, which counts as delivered.
   * Any other name is an array Iterable added that we do not know (a permanent failure, `verdictReason` names it).
   */
  category?: FailedUpdateCategory | (string & {});
}

export interface BulkListResult<S extends IterableSubscriber = IterableSubscriber> {
  action: BulkListAction;
  listId: number;
  verdicts: SubscriberVerdict<S>[];
  /** As Iterable reported them (undefined when absent or not numbers). */
  successCount: number | undefined;
  failCount: number | undefined;
  /** `successCount + failCount` differs from the number of subscribers sent (or a count is missing). */
  countMismatch: boolean;
  /** Failures Iterable counted but named no one for (`failCount` minus the users found in any array of `failedUpdates`, at least 0). */
  unattributedFailures: number;
  createdFields: string[];
  filteredOutFields: string[];
}

export interface IterableList {
  id: number;
  name: string;
  description?: string;
  listType: string;
  createdAt?: number;
}

/** One user of `users/bulkUpdate`: identified by email or userId, with the fields to set (null clears one). */
export interface BulkUpdateUser {
  email?: string;
  userId?: string;
  dataFields: Record<string, unknown>;
  /** Email-based projects: create a user (placeholder email) for an unknown userId. */
  preferUserId?: boolean;
}

/** Iterable's answer to `users/bulkUpdate`: a verdict per user, as for list calls. */
export type BulkUpdateResult<U extends BulkUpdateUser = BulkUpdateUser> = Omit<BulkListResult<U>, 'action' | 'listId'>;
