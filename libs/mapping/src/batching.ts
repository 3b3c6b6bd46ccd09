import type { Subscriber } from '@audience-bridge/domain';

/** Iterable's conventional ceiling of subscribers per lists/subscribe or lists/unsubscribe call. */
export const MAX_SUBSCRIBERS_PER_CALL = 1000;
/** Iterable refuses bodies of 4 MB; every batch's JSON body stays strictly under this many bytes. */
export const MAX_REQUEST_BYTES = 4_000_000;

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxItems: MAX_SUBSCRIBERS_PER_CALL, maxBytes: MAX_REQUEST_BYTES };

export interface Batches<T> {
  batches: T[][];
  /** Items that alone make a body of `maxBytes` or more: they can never be sent. */
  oversized: T[];
}

/** Bytes of a lists/subscribe or lists/unsubscribe body around the subscriber array, with room for every optional flag. */
export function envelopeBytes(listId: number): number {
  return Buffer.byteLength(JSON.stringify({ listId, subscribers: [], channelUnsubscribe: false, updateExistingUsersOnly: false }));
}

/**
 * Splits items, in order, into batches of at most `maxItems` whose JSON body
 * (envelope + items joined by commas) stays under `maxBytes`.
 */
export function batchBySize<T>(items: readonly T[], itemBytes: (item: T) => number, envelope: number, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Batches<T> {
  const batches: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let bytes = envelope;
  for (const item of items) {
    const size = itemBytes(item);
    if (envelope + size >= limits.maxBytes) {
      oversized.push(item);
      continue;
    }
    const added = current.length === 0 ? size : size + 1;
    if (current.length >= limits.maxItems || bytes + added >= limits.maxBytes) {
      batches.push(current);
      current = [];
      bytes = envelope;
    }
    bytes += current.length === 0 ? size : size + 1;
    current.push(item);
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}

/** Batches of subscribers for one list's subscribe or unsubscribe calls. */
export function batchSubscribers<S extends Subscriber>(listId: number, subscribers: readonly S[], limits: BatchLimits = DEFAULT_BATCH_LIMITS): Batches<S> {
  return batchBySize(subscribers, (s) => Buffer.byteLength(JSON.stringify(s)), envelopeBytes(listId), limits);
}
