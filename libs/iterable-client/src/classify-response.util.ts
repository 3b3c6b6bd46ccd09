import { isAxiosError } from 'axios';

import type { IterableErrorDetails } from './iterable.error';
import { IterableError } from './iterable.error';

export const INVALID_LIST_ID_MARKER = 'error.lists.invalidListId';

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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number.parseFloat(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A one-line description of a body that is not Iterable JSON (an HTML page's title, else its start). */
export function describeBody(body: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
  if (title) return `HTML page "${title}"`;
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'empty body';
  return flat.length > 120 ? `"${flat.slice(0, 120)}…"` : `"${flat}"`;
}

/**
 * Classifies an Iterable answer: by HTTP status first, then by `msg`/`code`. An `error.lists.invalidListId`
 * message means an unknown list whatever the status or code (Iterable has sent it with code "Success", and as a 500).
 */
export function classifyIterableResponse(answer: HttpAnswer, nowMs = Date.now()): ResponseClassification {
  const { status } = answer;
  const json = parseJson(answer.body);
  const msg = isObject(json) && typeof json.msg === 'string' ? json.msg : undefined;
  const code = isObject(json) && typeof json.code === 'string' ? json.code : undefined;
  const withCode = code === undefined ? {} : { code };
  const said = msg ?? describeBody(answer.body);

  if (msg?.includes(INVALID_LIST_ID_MARKER)) {
    return { ok: false, kind: 'permanent', reason: 'unknown list', status, ...withCode, summary: msg };
  }
  if (status >= 200 && status < 300) return { ok: true, json };

  const retryAfterMs = parseRetryAfter(header(answer.headers, 'retry-after'), nowMs);
  const withRetryAfter = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 401 || status === 403) return { ok: false, kind: 'permanent', reason: 'bad api key', status, ...withCode, summary: said };
  if (status === 413) return { ok: false, kind: 'split', reason: 'too large', status, ...withCode, summary: said };
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
    const { kind, reason, status, code, retryAfterMs, networkCode } = error;
    return {
      kind,
      reason,
      summary: error.message,
      ...(status === undefined ? {} : { status }),
      ...(code === undefined ? {} : { code }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
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
  if (networkCode === 'ETIMEDOUT' || networkCode === 'ECONNABORTED' || /timeout/i.test(message)) {
    return { kind: 'retryable', reason: 'network error', ...withNetworkCode, summary: `timed out (${message})` };
  }
  if (isAxiosError(error) || (networkCode !== undefined && NETWORK_CODES.has(networkCode))) {
    return { kind: 'retryable', reason: 'network error', ...withNetworkCode, summary: `network error: ${message}` };
  }
  return { kind: 'permanent', reason: 'bad request', ...withNetworkCode, summary: `unexpected error: ${message}` };
}
