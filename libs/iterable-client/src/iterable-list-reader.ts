import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { inspect } from 'node:util';

import type { DataCenter } from '@audience-bridge/domain';
import type { AxiosInstance, AxiosResponse } from 'axios';
import axios from 'axios';

import { resolveBaseUrl } from './base-url.util';
import type { ErrorClassification, ResponseClassification } from './classify-response.util';
import { CLASSIFY_HEAD_CHARS, classifyError, classifyIterableResponse } from './classify-response.util';
import { LimiterWaitTimeoutError } from './iterable-rate.limiter';
import { DEFAULT_TIMEOUT_MS } from './iterable.client';
import { IterableError } from './iterable.error';
import type { IterableClientOptions, IterableLogger, LimiterLease } from './iterable.types';
import { NOOP_LOGGER } from './iterable.types';
import { redactingLogger, redactSecrets } from './redact.util';

export const GET_USERS_PATH = '/api/lists/getUsers';
/** `GET /api/lists/{listId}/size`: how many members Iterable counts on the list (a bare number). */
export const LIST_SIZE_PATH = (listId: number): string => `/api/lists/${listId}/size`;

/** A list read whose answer ended without a newline after its last line: cut short, so not the whole list. */
export class ListReadCutError extends Error {
  constructor(readonly lines: number) {
    super(`the answer ended mid-line after ${lines} whole lines (no newline after its last line): a partial read`);
    this.name = 'ListReadCutError';
  }
}

/** The longest line taken from a list read: an identifier is an email (≤ 254) or a userId (≤ 52); more is not a member. */
export const MAX_LIST_LINE_CHARS = 4096;

/** A list read budget (`ListReadLimiter`): waits for a read's turn, stopping when `signal` is aborted. */
export interface ListReadBudget {
  acquire(apiKey: string, options?: { signal?: AbortSignal }): Promise<LimiterLease>;
  pause?(apiKey: string, ms: number): Promise<void>;
}

export interface ListReaderOptions extends Omit<IterableClientOptions, 'rateLimiter' | 'maxSockets'> {
  /** The list read budget (a `ListReadLimiter`: 5 per minute per project); none lets every read through. */
  limiter?: ListReadBudget;
  /** The budget of `size` reads (Iterable counts them apart from getUsers: 5 per minute per project). */
  sizeLimiter?: ListReadBudget;
}

export interface ListUsersOptions {
  /** Ask for userIds (hybrid projects; userId-based projects answer userIds anyway). */
  preferUserId?: boolean;
  /** Runs after the limiter granted the read and immediately before it is sent (for the time it was sent). */
  beforeSend?: () => void | Promise<void>;
  /** Stops the wait for the budget, or the read, at once (its reason is what `users` rejects with). */
  signal?: AbortSignal;
  /**
   * After the last line, ask Iterable the list's size and take the read only when it named exactly that many
   * members (else a retryable IterableError: a partial read). A size answer that is no number is no size: not compared.
   */
  verifySize?: boolean;
}

/**
 * `chunks` as lines: UTF-8 decoded across chunk edges, `\r\n` or `\n`, blank lines dropped, a line never held past
 * MAX_LIST_LINE_CHARS. Every line must end with a newline: text after the last one means the answer was cut
 * (a proxy dropping the tail), so it is not yielded and ListReadCutError is thrown instead.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer | string>, maxLineChars = MAX_LIST_LINE_CHARS): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lines = 0;
  const emit = function* (line: string): Generator<string> {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed !== '') {
      lines++;
      yield trimmed;
    }
  };
  for await (const chunk of chunks) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield* emit(text.slice(start, end));
      start = end + 1;
    }
    rest = text.slice(start);
    if (rest.length > maxLineChars) throw new Error(`a line longer than ${maxLineChars} characters: not a list of identifiers`);
  }
  if (rest + decoder.end() !== '') throw new ListReadCutError(lines);
}

/**
 * Reads an Iterable list back: `GET /api/lists/getUsers?listId=…` (docs/iterable-api.md §8), whose answer is
 * text, one identifier per line, for every member: millions of lines for a large list. The answer is streamed
 * and handed out line by line, so memory stays bounded whatever the list's size; it is never read whole.
 * Like `IterableClient`: the key only in the `Api-Key` header, redacted from every log line and error, failures
 * as classified `IterableError`s (a 429's Retry-After pauses the read budget for every process). One per API key.
 */
export class IterableListReader {
  readonly baseUrl: string;
  readonly dataCenter: DataCenter;
  readonly #apiKey: string;
  readonly #http: AxiosInstance;
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4 });
  readonly #logger: IterableLogger;
  readonly #limiter: ListReadBudget | undefined;
  readonly #sizeLimiter: ListReadBudget | undefined;

  constructor(options: ListReaderOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new TypeError('IterableListReader needs an apiKey');
    if (options.dataCenter !== 'US' && options.dataCenter !== 'EU') throw new TypeError('IterableListReader dataCenter must be US or EU');
    this.#apiKey = options.apiKey;
    this.dataCenter = options.dataCenter;
    this.baseUrl = resolveBaseUrl(options.dataCenter, options.baseUrlOverride);
    this.#logger = redactingLogger(options.logger ?? NOOP_LOGGER, [options.apiKey]);
    this.#limiter = options.limiter;
    this.#sizeLimiter = options.sizeLimiter;
    this.#http = axios.create({
      baseURL: this.baseUrl,
      // In Node an idle timeout: a read that keeps streaming may take as long as it needs.
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
      maxRedirects: 0,
      maxContentLength: -1,
      responseType: 'stream',
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
      headers: { Accept: 'text/plain', 'User-Agent': options.userAgent ?? 'audience-bridge-iterable-client' },
    });
  }

  /**
   * Every identifier on the list, one per line as Iterable sends them (emails, or userIds with `preferUserId`).
   * Waits for the read budget first; rejects with an IterableError before the first line (an error answer) or
   * during the stream (a broken connection, an idle timeout). Stopping early closes the connection.
   */
  async *users(listId: number, options: ListUsersOptions = {}): AsyncGenerator<string> {
    const path = GET_USERS_PATH;
    let lease: LimiterLease | undefined;
    if (this.#limiter) {
      try {
        lease = await this.#limiter.acquire(this.#apiKey, options.signal ? { signal: options.signal } : {});
      } catch (error) {
        if (error instanceof LimiterWaitTimeoutError || options.signal?.aborted) throw error;
        throw this.#fail(path, {
          kind: 'retryable',
          reason: 'network error',
          summary: `list read budget unavailable: ${(error as Error)?.message ?? String(error)}`,
        });
      }
    }
    await lease?.release().catch(() => undefined);
    options.signal?.throwIfAborted();
    await options.beforeSend?.();
    const started = Date.now();
    const stream = await this.#get(path, { listId, ...(options.preferUserId ? { preferUserId: true } : {}) }, this.#limiter, started, options.signal);
    try {
      let lines = 0;
      try {
        for await (const line of splitLines(stream)) {
          lines++;
          yield line;
        }
      } catch (error) {
        options.signal?.throwIfAborted();
        if (error instanceof IterableError) throw error;
        const classified =
          error instanceof ListReadCutError
            ? ({ kind: 'retryable', reason: 'network error', summary: error.message } as const)
            : error instanceof Error && error.message.startsWith('a line longer')
              ? ({ kind: 'permanent', reason: 'bad request', summary: error.message } as const)
              : classifyError(error);
        throw this.#fail(path, { ...classified, summary: `after ${lines} lines: ${classified.summary}` }, started);
      }
      this.#logger.debug(`Iterable GET ${path} (list ${listId}): ${lines} lines in ${Date.now() - started} ms`);
      if (options.verifySize) {
        const size = await this.size(listId, options.signal ? { signal: options.signal } : {});
        if (size !== null && size !== lines) {
          const summary = `a partial read: the answer named ${lines} members, Iterable's list size says ${size}; not taken`;
          throw this.#fail(path, { kind: 'retryable', reason: 'server error', summary }, started);
        }
      }
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  /**
   * A GET of `path` whose answer is streamed: a 2xx answer's stream, or the answer classified (its first 8 KB) and
   * thrown as an `IterableError`; a 429 with Retry-After pauses `budget` for every worker.
   */
  async #get(path: string, params: Record<string, unknown>, budget: ListReadBudget | undefined, started: number, signal?: AbortSignal): Promise<Readable> {
    let answer: AxiosResponse<Readable>;
    try {
      answer = await this.#http.request<Readable>({
        method: 'GET',
        url: path,
        ...(Object.keys(params).length > 0 ? { params } : {}),
        headers: { 'Api-Key': this.#apiKey },
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      signal?.throwIfAborted();
      throw this.#fail(path, classifyError(error), started);
    }
    const stream = answer.data;
    if (answer.status >= 200 && answer.status < 300) return stream;
    try {
      const head = await readHead(stream, CLASSIFY_HEAD_CHARS);
      const classified = classifyIterableResponse({ status: answer.status, headers: { ...answer.headers }, body: head });
      const details = withoutOk(classified) ?? { kind: 'retryable', reason: 'server error', status: answer.status, summary: `answered ${answer.status}` };
      if (details.reason === 'rate limited' && details.retryAfterMs !== undefined && budget?.pause) {
        await budget.pause(this.#apiKey, details.retryAfterMs).catch(() => undefined);
      }
      throw this.#fail(path, details, started);
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  /**
   * How many members Iterable counts on the list (`GET /api/lists/{listId}/size`, within the size budget), or
   * null when the answer is no number (no size given). Error answers reject like `users`.
   */
  async size(listId: number, options: { signal?: AbortSignal } = {}): Promise<number | null> {
    const path = LIST_SIZE_PATH(listId);
    if (this.#sizeLimiter) {
      try {
        const lease = await this.#sizeLimiter.acquire(this.#apiKey, options.signal ? { signal: options.signal } : {});
        await lease.release().catch(() => undefined);
      } catch (error) {
        if (error instanceof LimiterWaitTimeoutError || options.signal?.aborted) throw error;
        throw this.#fail(path, {
          kind: 'retryable',
          reason: 'network error',
          summary: `list size budget unavailable: ${(error as Error)?.message ?? String(error)}`,
        });
      }
    }
    options.signal?.throwIfAborted();
    const started = Date.now();
    const stream = await this.#get(path, {}, this.#sizeLimiter, started, options.signal);
    try {
      const text = (await readHead(stream, CLASSIFY_HEAD_CHARS)).trim();
      return /^\d{1,15}$/.test(text) ? Number(text) : null;
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  toJSON(): { baseUrl: string; dataCenter: DataCenter } {
    return { baseUrl: this.baseUrl, dataCenter: this.dataCenter };
  }

  [inspect.custom](): string {
    return `IterableListReader { baseUrl: '${this.baseUrl}', dataCenter: '${this.dataCenter}' }`;
  }

  #fail(path: string, classified: ErrorClassification, started?: number): IterableError {
    const { summary, ...details } = classified;
    const what =
      details.status !== undefined
        ? `answered ${details.status}${details.code ? ` ${details.code}` : ''}`
        : `failed${details.networkCode ? ` (${details.networkCode})` : ''}`;
    const timing = started === undefined ? '' : ` after ${Date.now() - started} ms`;
    const wait = details.retryAfterMs === undefined ? '' : `; retry after ${details.retryAfterMs} ms`;
    const message = redactSecrets(`Iterable GET ${path} ${what}${timing}: ${summary} [${details.kind}: ${details.reason}${wait}]`, [this.#apiKey]);
    const error = new IterableError(message, { ...details, method: 'GET', path });
    if (error.kind === 'permanent') this.#logger.error(message);
    else this.#logger.warn(message);
    return error;
  }
}

/** An error classification without its `ok`; undefined for an answer that classified as fine (a 2xx). */
function withoutOk(classified: ResponseClassification): ErrorClassification | undefined {
  if (classified.ok) return undefined;
  const { ok: _ok, ...details } = classified;
  return details;
}

/** The first `maxChars` characters of a stream (an error answer), then the rest is dropped. */
async function readHead(stream: Readable, maxChars: number): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    text += decoder.write(chunk);
    if (text.length >= maxChars) break;
  }
  return text.slice(0, maxChars);
}
