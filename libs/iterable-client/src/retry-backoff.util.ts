export interface RetryDelayInput {
  /** 1 for the first retry. */
  attempt: number;
  /** What Iterable asked for (IterableError.retryAfterMs); honoured, but never below `baseMs`. */
  retryAfterMs?: number;
  baseMs?: number;
  maxMs?: number;
  /** A number in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * How long to wait before retrying a retryable IterableError: Iterable's Retry-After when it sent one (at
 * least `baseMs`: a `Retry-After: 0` must not turn retries into a busy loop), else exponential backoff
 * (base · 2^(attempt-1), capped at max) with "equal jitter" (half fixed, half random), never below `baseMs / 2`.
 */
export function retryDelayMs({ attempt, retryAfterMs, baseMs = 1000, maxMs = 5 * 60_000, random = Math.random }: RetryDelayInput): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.round(Math.max(baseMs, retryAfterMs));
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
