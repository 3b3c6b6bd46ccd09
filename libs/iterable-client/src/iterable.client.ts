import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { inspect } from 'node:util';

import type { DataCenter } from '@audience-bridge/domain';
import type { AxiosInstance, AxiosResponse } from 'axios';
import axios from 'axios';

import { resolveBaseUrl } from './base-url.util';
import { bulkVerdicts, verdictReason } from './bulk-verdicts.util';
import type { ErrorClassification } from './classify-response.util';
import { classifyError, classifyIterableResponse, MAX_ANSWER_BYTES } from './classify-response.util';
import { LimiterWaitTimeoutError } from './iterable-rate.limiter';
import { IterableError } from './iterable.error';
import type {
  BulkListResult,
  BulkUpdateResult,
  BulkUpdateUser,
  CallOptions,
  IterableClientOptions,
  IterableList,
  IterableLogger,
  IterableRequestLimiter,
  IterableSubscriber,
  LimiterLease,
  SubscribeOptions,
} from './iterable.types';
import { NOOP_LOGGER } from './iterable.types';
import { redactingLogger, redactSecrets } from './redact.util';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const SUBSCRIBE_PATH = '/api/lists/subscribe';
export const UNSUBSCRIBE_PATH = '/api/lists/unsubscribe';
export const LISTS_PATH = '/api/lists';
export const FORGET_PATH = '/api/users/forget';
export const BULK_UPDATE_PATH = '/api/users/bulkUpdate';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The subscriber as lists/subscribe takes it: identifiers, dataFields only when given, the per-user flags asked for. */
export function toSubscribePayload(subscriber: IterableSubscriber, options: SubscribeOptions = {}): Record<string, unknown> {
  return {
    ...(subscriber.email === undefined ? {} : { email: subscriber.email }),
    ...(subscriber.userId === undefined ? {} : { userId: subscriber.userId }),
    ...(isObject(subscriber.dataFields) ? { dataFields: subscriber.dataFields } : {}),
    ...(options.preferUserId ? { preferUserId: true } : {}),
    ...(options.mergeNestedObjects ? { mergeNestedObjects: true } : {}),
  };
}

/** The unsubscriber: identifiers only. */
export function toUnsubscribePayload(subscriber: IterableSubscriber): Record<string, unknown> {
  return {
    ...(subscriber.email === undefined ? {} : { email: subscriber.email }),
    ...(subscriber.userId === undefined ? {} : { userId: subscriber.userId }),
  };
}

/**
 * An axios client for the Iterable endpoints the forwarder uses. Plain class, one per API key:
 * `Api-Key` header (never the query string), JSON bodies, keep-alive agents, a whole-request timeout,
 * no redirects, answers of at most MAX_ANSWER_BYTES. Every failure is an `IterableError` classified retryable / split / permanent.
 */
export class IterableClient {
  readonly baseUrl: string;
  readonly dataCenter: DataCenter;
  readonly #apiKey: string;
  readonly #http: AxiosInstance;
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #logger: IterableLogger;
  readonly #limiter: IterableRequestLimiter | undefined;
  readonly #timeoutMs: number;

  constructor(options: IterableClientOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new TypeError('IterableClient needs an apiKey');
    if (options.dataCenter !== 'US' && options.dataCenter !== 'EU') throw new TypeError('IterableClient dataCenter must be US or EU');
    this.#apiKey = options.apiKey;
    this.dataCenter = options.dataCenter;
    this.baseUrl = resolveBaseUrl(options.dataCenter, options.baseUrlOverride);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#logger = redactingLogger(options.logger ?? NOOP_LOGGER, [options.apiKey]);
    this.#limiter = options.rateLimiter;
    this.#httpAgent = new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
    this.#httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
    this.#http = axios.create({
      baseURL: this.baseUrl,
      timeout: this.#timeoutMs,
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
      maxRedirects: 0,
      // A larger answer is not read (an error page, not an Iterable answer): a retryable failure.
      maxContentLength: MAX_ANSWER_BYTES,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
      headers: {
        Accept: 'application/json',
        'User-Agent': options.userAgent ?? 'audience-bridge-iterable-client',
      },
    });
  }

  /** Adds users to a static list. Resolves with a verdict per subscriber; rejects with an IterableError. */
  async subscribe<S extends IterableSubscriber>(listId: number, subscribers: readonly S[], options: SubscribeOptions = {}): Promise<BulkListResult<S>> {
    if (subscribers.length === 0) return bulkVerdicts('subscribe', listId, subscribers, { successCount: 0, failCount: 0 });
    const body = {
      listId,
      subscribers: subscribers.map((s) => toSubscribePayload(s, options)),
      ...(options.updateExistingUsersOnly === undefined ? {} : { updateExistingUsersOnly: options.updateExistingUsersOnly }),
    };
    const json = await this.#call('POST', SUBSCRIBE_PATH, body, `list ${listId}, ${subscribers.length} subscribers`, options.beforeSend);
    return this.#bulkResult('subscribe', listId, subscribers, json);
  }

  /** Removes users from a static list (never a channel unsubscribe). A user Iterable does not know counts as removed. */
  async unsubscribe<S extends IterableSubscriber>(listId: number, subscribers: readonly S[], options: CallOptions = {}): Promise<BulkListResult<S>> {
    if (subscribers.length === 0) return bulkVerdicts('unsubscribe', listId, subscribers, { successCount: 0, failCount: 0 });
    const body = { listId, subscribers: subscribers.map(toUnsubscribePayload), channelUnsubscribe: false };
    const json = await this.#call('POST', UNSUBSCRIBE_PATH, body, `list ${listId}, ${subscribers.length} subscribers`, options.beforeSend);
    return this.#bulkResult('unsubscribe', listId, subscribers, json);
  }

  async getLists(): Promise<IterableList[]> {
    const json = await this.#call('GET', LISTS_PATH, undefined, 'lists');
    if (!isObject(json) || !Array.isArray(json.lists)) throw this.#unreadable('GET', LISTS_PATH, 'no "lists" array');
    return json.lists.filter(isObject).flatMap((list): IterableList[] => {
      const id = typeof list.id === 'number' ? list.id : Number(list.id);
      if (!Number.isInteger(id) || typeof list.name !== 'string') return [];
      return [
        {
          id,
          name: list.name,
          ...(typeof list.description === 'string' ? { description: list.description } : {}),
          listType: typeof list.listType === 'string' ? list.listType : 'Standard',
          ...(typeof list.createdAt === 'number' ? { createdAt: list.createdAt } : {}),
        },
      ];
    });
  }

  /** Creates a static list and resolves with its id. */
  async createList(name: string, description?: string): Promise<number> {
    const json = await this.#call('POST', LISTS_PATH, { name, ...(description === undefined ? {} : { description }) }, `create list "${name}"`);
    const listId = isObject(json) ? Number(json.listId) : Number.NaN;
    if (!Number.isInteger(listId)) throw this.#unreadable('POST', LISTS_PATH, 'no "listId"');
    return listId;
  }

  /** Deletes a static list (its users stay in the project). */
  async deleteList(listId: number): Promise<void> {
    await this.#call('DELETE', `${LISTS_PATH}/${listId}`, undefined, `delete list ${listId}`);
  }

  /**
   * Sets user fields (`POST /api/users/bulkUpdate`, at most 1000 users and under 4 MB: the caller batches). A field
   * set to null is cleared. Resolves with a verdict per user, read like a list call's answer: a user in
   * `failedUpdates` (a field type the project refuses is `invalidData*`) is a permanent failure for that user.
   */
  async bulkUpdateUsers<U extends BulkUpdateUser>(users: readonly U[], options: CallOptions = {}): Promise<BulkUpdateResult<U>> {
    if (users.length === 0) {
      const { action: _a, listId: _l, ...empty } = bulkVerdicts('subscribe', 0, users, { successCount: 0, failCount: 0 });
      return empty;
    }
    const body = {
      users: users.map((u) => ({
        ...(u.email === undefined ? {} : { email: u.email }),
        ...(u.userId === undefined ? {} : { userId: u.userId }),
        dataFields: u.dataFields,
        ...(u.preferUserId ? { preferUserId: true } : {}),
      })),
    };
    const json = await this.#call('POST', BULK_UPDATE_PATH, body, `${users.length} users`, options.beforeSend);
    if (!isObject(json)) throw this.#unreadable('POST', BULK_UPDATE_PATH, 'not a JSON object');
    const { action: _action, listId: _listId, ...result } = bulkVerdicts('subscribe', 0, users, json);
    if (result.countMismatch) {
      this.#logger.warn(
        `Iterable users/bulkUpdate: successCount ${String(result.successCount)} + failCount ${String(result.failCount)} ` +
          `does not match the ${users.length} users sent`,
      );
    }
    return result;
  }

  /**
   * GDPR: puts the user on the project's forgotten list (`POST /api/users/forget`, by email or by userId);
   * Iterable refuses new data for them from then on. The identifier is kept out of every log line and error.
   */
  async forgetUser(user: { email: string } | { userId: string }): Promise<void> {
    const identifier = 'email' in user ? user.email : user.userId;
    await this.#call('POST', FORGET_PATH, user, `forget a user by ${'email' in user ? 'email' : 'userId'}`, undefined, [identifier]);
  }

  /** Closes the keep-alive sockets. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  toJSON(): { baseUrl: string; dataCenter: DataCenter } {
    return { baseUrl: this.baseUrl, dataCenter: this.dataCenter };
  }

  [inspect.custom](): string {
    return `IterableClient { baseUrl: '${this.baseUrl}', dataCenter: '${this.dataCenter}' }`;
  }

  #bulkResult<S extends IterableSubscriber>(action: 'subscribe' | 'unsubscribe', listId: number, subscribers: readonly S[], json: unknown): BulkListResult<S> {
    const path = action === 'subscribe' ? SUBSCRIBE_PATH : UNSUBSCRIBE_PATH;
    if (!isObject(json)) throw this.#unreadable('POST', path, 'not a JSON object');
    const result = bulkVerdicts(action, listId, subscribers, json);
    if (result.countMismatch) {
      this.#logger.warn(
        `Iterable ${action} list ${listId}: successCount ${String(result.successCount)} + failCount ${String(result.failCount)} ` +
          `does not match the ${subscribers.length} subscribers sent`,
      );
    }
    const unknown = [...new Set(result.verdicts.map((v) => verdictReason(v)).filter((r): r is string => r?.startsWith('failedUpdates.') === true))];
    if (unknown.length > 0) {
      this.#logger.warn(
        `Iterable ${action} list ${listId}: failures in arrays we do not know (${unknown.join(', ')}), recorded as permanent for the users they name`,
      );
    }
    if (result.unattributedFailures > 0) {
      this.#logger.warn(`Iterable ${action} list ${listId}: ${result.unattributedFailures} failures were not named in failedUpdates`);
    }
    return result;
  }

  #unreadable(method: string, path: string, why: string): IterableError {
    const error = new IterableError(`Iterable ${method} ${path}: unreadable 200 answer (${why})`, {
      kind: 'retryable',
      reason: 'server error',
      status: 200,
      method,
      path,
    });
    this.#logger.warn(error.message);
    return error;
  }

  async #call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    what: string,
    beforeSend?: () => Promise<void>,
    redact: string[] = [],
  ): Promise<unknown> {
    let lease: LimiterLease | undefined;
    if (this.#limiter) {
      try {
        lease = await this.#limiter.acquire(this.#apiKey);
      } catch (error) {
        // Waited longer than the caller allows: nothing was sent, and the caller decides what comes next.
        if (error instanceof LimiterWaitTimeoutError) throw error;
        throw this.#fail(
          method,
          path,
          { kind: 'retryable', reason: 'network error', summary: `rate limiter unavailable: ${(error as Error)?.message ?? String(error)}` },
          undefined,
          redact,
        );
      }
    }
    const started = Date.now();
    try {
      if (beforeSend) await beforeSend();
      // Not waited for: the call should leave right away, and the window is only read by later grants.
      lease?.sent?.().catch((error: unknown) => this.#logger.warn(`rate limiter (sent) failed: ${(error as Error)?.message ?? String(error)}`));
      let answer: AxiosResponse<unknown>;
      try {
        answer = await this.#http.request({
          method,
          url: path,
          headers: { 'Api-Key': this.#apiKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { data: JSON.stringify(body) }),
        });
      } catch (error) {
        throw this.#fail(method, path, classifyError(error), started, redact);
      }
      const text = typeof answer.data === 'string' ? answer.data : JSON.stringify(answer.data ?? '');
      const classified = classifyIterableResponse({ status: answer.status, headers: { ...answer.headers }, body: text });
      if (!classified.ok) {
        if (classified.reason === 'rate limited' && classified.retryAfterMs !== undefined && this.#limiter?.pause) {
          await this.#limiter.pause(this.#apiKey, classified.retryAfterMs).catch(() => undefined);
        }
        const { ok: _ok, ...details } = classified;
        throw this.#fail(method, path, details, started, redact);
      }
      this.#logger.debug(`Iterable ${method} ${path} (${what}): ${answer.status} in ${Date.now() - started} ms`);
      return classified.json;
    } finally {
      if (lease) {
        await lease.release().catch((error: unknown) => this.#logger.warn(`rate limiter release failed: ${(error as Error)?.message ?? String(error)}`));
      }
    }
  }

  #fail(method: string, path: string, classified: ErrorClassification, started?: number, redact: string[] = []): IterableError {
    const { summary, ...details } = classified;
    const what =
      details.status !== undefined
        ? `answered ${details.status}${details.code ? ` ${details.code}` : ''}`
        : `failed${details.networkCode ? ` (${details.networkCode})` : ''}`;
    const timing = started === undefined ? '' : ` after ${Date.now() - started} ms`;
    const asked = details.retryAfterAskedMs === undefined ? '' : ` (Retry-After asked ${details.retryAfterAskedMs} ms, capped)`;
    const wait = details.retryAfterMs === undefined ? '' : `; retry after ${details.retryAfterMs} ms${asked}`;
    const message = redactSecrets(`Iterable ${method} ${path} ${what}${timing}: ${summary} [${details.kind}: ${details.reason}${wait}]`, [
      this.#apiKey,
      ...redact,
    ]);
    const error = new IterableError(message, { ...details, method, path });
    if (error.kind === 'permanent') this.#logger.error(message);
    else this.#logger.warn(message);
    return error;
  }
}
