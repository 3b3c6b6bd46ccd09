import type { SkipReason } from './membership-change';

/** Why Iterable (or the way to it) did not take a user. */
export const FAILURE_REASONS = [
  'invalid email',
  'invalid userId',
  'forgotten',
  'conflict',
  'not found',
  'invalid data',
  'rate limited',
  'server error',
  'network error',
  'bad api key',
  'unknown list',
  'bad request',
  'too large',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The verdict for one user of one Iterable call. */
export type DeliveryOutcome =
  { kind: 'delivered' } | { kind: 'skipped'; reason: SkipReason } | { kind: 'failed'; reason: FailureReason; retryable: boolean; detail?: string };

export const delivered = (): DeliveryOutcome => ({ kind: 'delivered' });
export const skipped = (reason: SkipReason): DeliveryOutcome => ({ kind: 'skipped', reason });
export const failed = (reason: FailureReason, retryable: boolean, detail?: string): DeliveryOutcome =>
  detail === undefined ? { kind: 'failed', reason, retryable } : { kind: 'failed', reason, retryable, detail };

/**
 * How one Iterable call ended, as the delivery audit classifies it: success (200, no member refused),
 * partial (200, some refused), failed (not 200, or no answer), dry-run (recorded, not sent).
 */
export const DELIVERY_STATUSES = ['success', 'partial', 'failed', 'dry-run'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
