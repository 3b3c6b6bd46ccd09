import type { FailureReason } from '@audience-bridge/domain';

/**
 * retryable: try the same call again later (network error, timeout, 429, 5xx);
 * split: the batch is too large (413), send it in smaller parts;
 * permanent: do not send the same call again (unknown list, bad API key, bad request, a 409 conflict).
 */
export type IterableErrorKind = 'retryable' | 'split' | 'permanent';

export type IterableErrorReason = Extract<
  FailureReason,
  'rate limited' | 'server error' | 'network error' | 'too large' | 'unknown list' | 'bad api key' | 'bad request' | 'conflict'
>;

export interface IterableErrorDetails {
  kind: IterableErrorKind;
  reason: IterableErrorReason;
  /** HTTP status, absent for network errors. */
  status?: number;
  /** Iterable's `code` (e.g. `RateLimitExceeded`, `BadParams`), when the answer had one. */
  code?: string;
  /** How long to wait (Iterable's Retry-After, at most MAX_RETRY_AFTER_MS), in ms. */
  retryAfterMs?: number;
  /** What Iterable's Retry-After asked for, in ms, when it was longer than MAX_RETRY_AFTER_MS (so `retryAfterMs` is the cap). */
  retryAfterAskedMs?: number;
  /** The transport error code (ECONNRESET, ETIMEDOUT...), for network errors. */
  networkCode?: string;
  method?: string;
  /** The API path called (never the host's query string, never a header). */
  path?: string;
}

/**
 * The one error the client throws. It carries no request, no config and no headers, so neither its
 * message nor `JSON.stringify(error)` can leak the API key.
 */
export class IterableError extends Error implements IterableErrorDetails {
  readonly kind: IterableErrorKind;
  readonly reason: IterableErrorReason;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  readonly retryAfterAskedMs?: number;
  readonly networkCode?: string;
  readonly method?: string;
  readonly path?: string;

  constructor(message: string, details: IterableErrorDetails) {
    super(message);
    this.name = 'IterableError';
    this.kind = details.kind;
    this.reason = details.reason;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.retryAfterAskedMs !== undefined) this.retryAfterAskedMs = details.retryAfterAskedMs;
    if (details.networkCode !== undefined) this.networkCode = details.networkCode;
    if (details.method !== undefined) this.method = details.method;
    if (details.path !== undefined) this.path = details.path;
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }

  /**
   * Whether Iterable may have applied the request although we saw no answer: a timeout or a connection
   * dropped after sending, or a gateway timeout (504). A refused connection or a DNS failure sent nothing.
   */
  get unknownOutcome(): boolean {
    if (this.status === 504) return true;
    if (this.status !== undefined) return false;
    return this.reason === 'network error' && !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(this.networkCode ?? '');
  }

  toJSON(): IterableErrorDetails & { name: string; message: string } {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      reason: this.reason,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.code === undefined ? {} : { code: this.code }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.retryAfterAskedMs === undefined ? {} : { retryAfterAskedMs: this.retryAfterAskedMs }),
      ...(this.networkCode === undefined ? {} : { networkCode: this.networkCode }),
      ...(this.method === undefined ? {} : { method: this.method }),
      ...(this.path === undefined ? {} : { path: this.path }),
    };
  }
}

export const isIterableError = (error: unknown): error is IterableError => error instanceof IterableError;
