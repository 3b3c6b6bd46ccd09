export * from './iterable.types';
export * from './iterable.error';
export {
  IterableClient,
  DEFAULT_TIMEOUT_MS,
  BULK_UPDATE_PATH,
  SUBSCRIBE_PATH,
  UNSUBSCRIBE_PATH,
  LISTS_PATH,
  toSubscribePayload,
  toUnsubscribePayload,
} from './iterable.client';
export { ITERABLE_BASE_URLS, FAKE_EU_PATH_PREFIX, resolveBaseUrl, trimTrailingSlashes } from './base-url.util';
export {
  classifyIterableResponse,
  classifyError,
  parseRetryAfter,
  capRetryAfter,
  describeBody,
  INVALID_LIST_ID_MARKER,
  CLASSIFY_HEAD_CHARS,
  MAX_ANSWER_BYTES,
  MAX_RETRY_AFTER_MS,
} from './classify-response.util';
export type { HttpAnswer, ErrorClassification, ResponseClassification } from './classify-response.util';
export { bulkVerdicts, parseBulkResponse, findCategory, categoryKeys, verdictReason } from './bulk-verdicts.util';
export type { ParsedBulkResponse } from './bulk-verdicts.util';
export { redactSecrets, redactingLogger, REDACTED } from './redact.util';
export { retryDelayMs } from './retry-backoff.util';
export type { RetryDelayInput } from './retry-backoff.util';
export { IterableRateLimiter, LimiterWaitTimeoutError, apiKeyFingerprint } from './iterable-rate.limiter';
export type { IterableRateLimiterOptions } from './iterable-rate.limiter';
export { RedisSemaphore } from './redis.semaphore';
export type { RedisSemaphoreOptions } from './redis.semaphore';
export { IterableListReader, ListReadCutError, splitLines, GET_USERS_PATH, LIST_SIZE_PATH, MAX_LIST_LINE_CHARS } from './iterable-list-reader';
export type { ListReadBudget, ListReaderOptions, ListUsersOptions } from './iterable-list-reader';
export { ListReadLimiter } from './iterable-list-read.limiter';
export type { ListReadLimiterOptions } from './iterable-list-read.limiter';
