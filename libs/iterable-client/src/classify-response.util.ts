import { isAxiosError } from 'axios';

import type { IterableErrorDetails } from './iterable.error';
import { IterableError } from './iterable.error';

export const INVALID_LIST_ID_MARKER = 'error.lists.invalidListId';

/**
 * The most of an error answer that is read to classify it: Iterable's error bodies are a few hundred bytes, and
 * a proxy's or a crashed server's HTML page says what it is in its first lines. A 2xx answer is read whole.
 */
export const CLASSIFY_HEAD_CHARS = 8 * 1024;

/** The largest answer the client reads (axios `maxContentLength`); a larger one is a transient failure, not read. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The longest `Retry-After` honoured (15 minutes); a longer one is capped, and the cap is recorded. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** An HTTP answer as received: status, headers, the body as text. */
export interface HttpAnswer {
  status: number;
  headers?: Record<string, unknown>;
  body: string;
}

export type ErrorClassification = Omit<IterableErrorDetails, 'method' | 'path'> & {
  /** A short human description (Iterable's `msg` when it sent one). */
  summary: string;
};

export type ResponseClassification = { ok: true; json: unknown } | ({ ok: false } & ErrorClassification);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function header(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` in ms: delta-seconds or an HTTP-date (past dates give 0); undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, nowMs = Date.now()): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  // A header of any length is cut before any pattern runs (an HTTP-date is 29 characters).
  const text = value.slice(0, 64).trim();
  if (/^\d{1,20}(?:\.\d{1,20})?$/.test(text)) return Math.round(Number.parseFloat(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * `Retry-After` as we honour it: at most MAX_RETRY_AFTER_MS. `askedMs` is what Iterable asked for, present
 * only when it was more than that (so the cap can be recorded).
 */
export function capRetryAfter(retryAfterMs: number | undefined): { retryAfterMs?: number; retryAfterAskedMs?: number } {
  if (retryAfterMs === undefined) return {};
  return retryAfterMs > MAX_RETRY_AFTER_MS ? { retryAfterMs: MAX_RETRY_AFTER_MS, retryAfterAskedMs: retryAfterMs } : { retryAfterMs };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Where `<tag` (ASCII, lower case) starts in `text` at or after `from`, in any letter case; -1 if nowhere. One pass. */
function indexOfTag(text: string, tag: string, from: number): number {
  for (let i = text.indexOf('<', from); i >= 0; i = text.indexOf('<', i + 1)) {
    if (text.slice(i, i + tag.length).toLowerCase() === tag) return i;
  }
  return -1;
}

/** The text of the first `<title …>…</title>` of an HTML page, found by scanning (no pattern can backtrack). */
function htmlTitle(text: string): string | undefined {
  const open = indexOfTag(text, '<title', 0);
  if (open < 0) return undefined;
  const start = text.indexOf('>', open);
  if (start < 0) return undefined;
  const end = text.indexOf('<', start + 1);
  if (end < 0 || text.slice(end, end + 7).toLowerCase() !== '</title') return undefined;
  return text.slice(start + 1, end).trim();
}

/**
 * A one-line description of a body that is not Iterable JSON (an HTML page's title, else its start). Reads the
 * first CLASSIFY_HEAD_CHARS only, in linear time, so a huge page cannot hold up the process.
 */
export function describeBody(body: string): string {
  const head = body.length > CLASSIFY_HEAD_CHARS ? body.slice(0, CLASSIFY_HEAD_CHARS) : body;
  const title = htmlTitle(head);
  if (title) return `HTML page "${title}"`;
  const flat = head.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'empty body';
  return flat.length > 120 ? `"${flat.slice(0, 120)}…"` : `"${flat}"`;
}

/**
 * Classifies an Iterable answer: by HTTP status first, then by `msg`/`code`. An `error.lists.invalidListId`
 * message means an unknown list whatever the status or code (Iterable has sent it with code "Success", and as a 500).
 * An error answer is classified on its first CLASSIFY_HEAD_CHARS only; a `Retry-After` over MAX_RETRY_AFTER_MS is capped.
 * A 409 is a `conflict`: the delivery rules send such a batch again one member per call.
 */
export function classifyIterableResponse(answer: HttpAnswer, nowMs = Date.now()): ResponseClassification {
  const { status } = answer;
  const success = status >= 200 && status < 300;
  const json = parseJson(success || answer.body.length <= CLASSIFY_HEAD_CHARS ? answer.body : answer.body.slice(0, CLASSIFY_HEAD_CHARS));
  const msg = isObject(json) && typeof json.msg === 'string' ? json.msg : undefined;
  const code = isObject(json) && typeof json.code === 'string' ? json.code : undefined;
  const withCode = code === undefined ? {} : { code };
  const said = msg ?? describeBody(answer.body);

  if (msg?.includes(INVALID_LIST_ID_MARKER)) {
    return { ok: false, kind: 'permanent', reason: 'unknown list', status, ...withCode, summary: msg };
  }
  if (success) return { ok: true, json };

  const withRetryAfter = capRetryAfter(parseRetryAfter(header(answer.headers, 'retry-after'), nowMs));
  if (status === 401 || status === 403) return { ok: false, kind: 'permanent', reason: 'bad api key', status, ...withCode, summary: said };
  if (status === 413) return { ok: false, kind: 'split', reason: 'too large', status, ...withCode, summary: said };
  if (status === 409) return { ok: false, kind: 'permanent', reason: 'conflict', status, ...withCode, summary: said };
  if (status === 429) return { ok: false, kind: 'retryable', reason: 'rate limited', status, ...withCode, ...withRetryAfter, summary: said };
  if (status >= 500 || status === 408) {
    return { ok: false, kind: 'retryable', reason: 'server error', status, ...withCode, ...withRetryAfter, summary: said };
  }
  if (status === 404 && msg === undefined) {
    return { ok: false, kind: 'permanent', reason: 'bad request', status, ...withCode, summary: `not found (${said}): wrong base URL or path?` };
  }
  return { ok: false, kind: 'permanent', reason: 'bad request', status, ...withCode, summary: said };
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Classifies anything a call threw: an IterableError as it is, an axios error with an answer by that answer,
 * transport failures (reset, refused, timeout, DNS...) as retryable network errors, anything else as a permanent bad request.
 */
export function classifyError(error: unknown, nowMs = Date.now()): ErrorClassification {
  if (error instanceof IterableError) {
    const { kind, reason, status, code, retryAfterMs, retryAfterAskedMs, networkCode } = error;
    return {
      kind,
      reason,
      summary: error.message,
      ...(status === undefined ? {} : { status }),
      ...(code === undefined ? {} : { code }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(retryAfterAskedMs === undefined ? {} : { retryAfterAskedMs }),
      ...(networkCode === undefined ? {} : { networkCode }),
    };
  }
  const networkCode = isObject(error) && typeof error.code === 'string' ? error.code : undefined;
  const withNetworkCode = networkCode === undefined ? {} : { networkCode };
  if (isAxiosError(error) && error.response) {
    const { status, headers, data } = error.response;
    const classified = classifyIterableResponse(
      { status, headers: headers as Record<string, unknown>, body: typeof data === 'string' ? data : JSON.stringify(data ?? '') },
      nowMs,
    );
    if (!classified.ok) {
      const { ok: _ok, ...rest } = classified;
      return rest;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  if (isAxiosError(error) && !error.response && message.includes('maxContentLength')) {
    // The answer was cut off unread past MAX_ANSWER_BYTES (an error page, most likely); its status is on the request.
    const status = (error.request as { res?: { statusCode?: unknown } } | undefined)?.res?.statusCode;
    const limit = typeof error.config?.maxContentLength === 'number' ? error.config.maxContentLength : MAX_ANSWER_BYTES;
    return {
      kind: 'retryable',
      reason: 'server error',
      ...(typeof status === 'number' ? { status } : {}),
      summary: `answer larger than ${limit} bytes, not read`,
    };
  }
  if (networkCode === 'ETIMEDOUT' || networkCode === 'ECONNABORTED' || /timeout/i.test(message)) {
    return { kind: 'retryable', reason: 'network error', ...withNetworkCode, summary: `timed out (${message})` };
  }
  if (isAxiosError(error) || (networkCode !== undefined && NETWORK_CODES.has(networkCode))) {
    return { kind: 'retryable', reason: 'network error', ...withNetworkCode, summary: `network error: ${message}` };
  }
  return { kind: 'permanent', reason: 'bad request', ...withNetworkCode, summary: `unexpected error: ${message}` };
}
