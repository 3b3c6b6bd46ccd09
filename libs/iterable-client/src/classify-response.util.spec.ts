import { classifyError, classifyIterableResponse, describeBody, MAX_RETRY_AFTER_MS, parseRetryAfter } from './classify-response.util';
import { IterableError } from './iterable.error';
import { hugeErrorPage } from './testing/fake-iterable.harness';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const json = (body: unknown): string => JSON.stringify(body);
const html404 = '<!DOCTYPE html><html><head><title>Action not found</title></head><body><h1>Action not found</h1></body></html>';

describe('parseRetryAfter', () => {
  it.each([
    ['delta seconds', '2', 2000],
    ['zero', '0', 0],
    ['padded', ' 10 ', 10_000],
    ['fractional seconds', '1.5', 1500],
    ['a number', 3, 3000],
    ['an HTTP-date 5 s ahead', new Date(NOW + 5000).toUTCString(), 5000],
    ['an HTTP-date in the past', new Date(NOW - 5000).toUTCString(), 0],
    ['absent', undefined, undefined],
    ['garbage', 'soon', undefined],
    ['negative', '-1', undefined],
    ['a negative number', -2, undefined],
  ])('%s → %s', (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('describeBody', () => {
  it.each([
    ['an HTML page by its title', html404, 'HTML page "Action not found"'],
    ['an empty body', '  ', 'empty body'],
    ['short text as it is', 'Bad Gateway', '"Bad Gateway"'],
    ['long text cut', 'x'.repeat(200), `"${'x'.repeat(120)}…"`],
    ['a title in any letter case', '<HTML><Title lang="en">Oops</TITLE></HTML>', 'HTML page "Oops"'],
    ['a title holding markup is no title', '<title>a<b>c</b></title>', '"<title>a<b>c</b></title>"'],
    ['a title past the first 8 KB is not looked for', `${' '.repeat(9000)}<title>late</title>`, 'empty body'],
  ])('%s', (_name, body, expected) => {
    expect(describeBody(body)).toBe(expected);
  });
});

describe('a huge error page (the classifier must not hold up the worker)', () => {
  // ~1 MB of `<title` openings and no `>`: the old title pattern backtracked over the rest of the page from each one
  // (quadratic: seconds of a blocked event loop).
  const page = hugeErrorPage(1_000_000);

  it('a 1 MB HTML 500 page classifies in well under 100 ms', () => {
    expect(page.length).toBeGreaterThan(990_000);
    const started = performance.now();
    const classified = classifyIterableResponse({ status: 500, headers: { 'content-type': 'text/html' }, body: page }, NOW);
    const elapsed = performance.now() - started;
    expect(classified).toMatchObject({ ok: false, kind: 'retryable', reason: 'server error', status: 500 });
    expect(elapsed).toBeLessThan(100);
  });

  it('describeBody of the same page is as quick, and so is a 200 answer carrying it', () => {
    const started = performance.now();
    expect(describeBody(page)).toMatch(/^"<!DOCTYPE html>/);
    expect(classifyIterableResponse({ status: 200, body: page }, NOW)).toEqual({ ok: true, json: undefined });
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('classifyIterableResponse', () => {
  it.each([
    ['200 bulk answer', 200, {}, json({ successCount: 1, failCount: 0 }), { ok: true, json: { successCount: 1, failCount: 0 } }],
    ['200 with a non-JSON body', 200, {}, 'ok', { ok: true, json: undefined }],
    [
      '401 BadApiKey',
      401,
      {},
      json({ msg: 'Invalid API key', code: 'BadApiKey', params: {} }),
      { ok: false, kind: 'permanent', reason: 'bad api key', status: 401, code: 'BadApiKey', summary: 'Invalid API key' },
    ],
    [
      '403',
      403,
      {},
      json({ msg: 'Forbidden', code: 'Forbidden' }),
      { ok: false, kind: 'permanent', reason: 'bad api key', status: 403, code: 'Forbidden', summary: 'Forbidden' },
    ],
    [
      '413',
      413,
      {},
      '<html><title>413 Request Entity Too Large</title></html>',
      { ok: false, kind: 'split', reason: 'too large', status: 413, summary: 'HTML page "413 Request Entity Too Large"' },
    ],
    [
      '429 without Retry-After',
      429,
      {},
      json({ msg: 'Exceeded rate limit', code: 'RateLimitExceeded', params: {} }),
      { ok: false, kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', summary: 'Exceeded rate limit' },
    ],
    [
      '429 with Retry-After seconds',
      429,
      { 'retry-after': '2' },
      json({ msg: 'm', code: 'RateLimitExceeded' }),
      { ok: false, kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', retryAfterMs: 2000, summary: 'm' },
    ],
    [
      '429 with Retry-After as HTTP-date',
      429,
      { 'Retry-After': new Date(NOW + 3000).toUTCString() },
      json({ msg: 'm', code: 'RateLimitExceeded' }),
      { ok: false, kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', retryAfterMs: 3000, summary: 'm' },
    ],
    [
      '500 GenericError',
      500,
      {},
      json({ msg: 'Please try again later', code: 'GenericError' }),
      { ok: false, kind: 'retryable', reason: 'server error', status: 500, code: 'GenericError', summary: 'Please try again later' },
    ],
    [
      '503 with Retry-After',
      503,
      { 'retry-after': ['4'] },
      json({ msg: 'Request timeout. Try again later.', code: 'GenericError' }),
      {
        ok: false,
        kind: 'retryable',
        reason: 'server error',
        status: 503,
        code: 'GenericError',
        retryAfterMs: 4000,
        summary: 'Request timeout. Try again later.',
      },
    ],
    [
      '502 HTML from a proxy',
      502,
      {},
      '<html><head><title>502 Bad Gateway</title></head></html>',
      { ok: false, kind: 'retryable', reason: 'server error', status: 502, summary: 'HTML page "502 Bad Gateway"' },
    ],
    ['408', 408, {}, '', { ok: false, kind: 'retryable', reason: 'server error', status: 408, summary: 'empty body' }],
    [
      '400 unknown list',
      400,
      {},
      json({ msg: 'error.lists.invalidListId(999)', code: 'BadParams', params: { listId: 999 } }),
      { ok: false, kind: 'permanent', reason: 'unknown list', status: 400, code: 'BadParams', summary: 'error.lists.invalidListId(999)' },
    ],
    [
      '400 unknown list with code "Success"',
      400,
      {},
      json({ msg: 'error.lists.invalidListId(999)', code: 'Success', params: null }),
      { ok: false, kind: 'permanent', reason: 'unknown list', status: 400, code: 'Success', summary: 'error.lists.invalidListId(999)' },
    ],
    [
      '500 unknown list',
      500,
      {},
      json({ msg: 'error.lists.invalidListId(999)', code: 'GenericError' }),
      { ok: false, kind: 'permanent', reason: 'unknown list', status: 500, code: 'GenericError', summary: 'error.lists.invalidListId(999)' },
    ],
    [
      '400 BadParams',
      400,
      {},
      json({ msg: 'Invalid params: listId: error.path.missing', code: 'BadParams', params: {} }),
      { ok: false, kind: 'permanent', reason: 'bad request', status: 400, code: 'BadParams', summary: 'Invalid params: listId: error.path.missing' },
    ],
    [
      '400 BadJsonBody',
      400,
      {},
      json({ msg: 'Could not parse', code: 'BadJsonBody', params: null }),
      { ok: false, kind: 'permanent', reason: 'bad request', status: 400, code: 'BadJsonBody', summary: 'Could not parse' },
    ],
    [
      '404 HTML page',
      404,
      { 'content-type': 'text/html' },
      html404,
      { ok: false, kind: 'permanent', reason: 'bad request', status: 404, summary: 'not found (HTML page "Action not found"): wrong base URL or path?' },
    ],
    [
      '409 JSON: a conflict',
      409,
      {},
      json({ msg: 'Conflict', code: 'GenericError' }),
      { ok: false, kind: 'permanent', reason: 'conflict', status: 409, code: 'GenericError', summary: 'Conflict' },
    ],
    [
      '429 with Retry-After 2 h: capped to 15 min, what was asked kept',
      429,
      { 'retry-after': '7200' },
      json({ msg: 'm', code: 'RateLimitExceeded' }),
      {
        ok: false,
        kind: 'retryable',
        reason: 'rate limited',
        status: 429,
        code: 'RateLimitExceeded',
        retryAfterMs: MAX_RETRY_AFTER_MS,
        retryAfterAskedMs: 7_200_000,
        summary: 'm',
      },
    ],
    [
      '503 with Retry-After a day ahead (HTTP-date): capped',
      503,
      { 'Retry-After': new Date(NOW + 86_400_000).toUTCString() },
      json({ msg: 'm', code: 'GenericError' }),
      {
        ok: false,
        kind: 'retryable',
        reason: 'server error',
        status: 503,
        code: 'GenericError',
        retryAfterMs: 900_000,
        retryAfterAskedMs: 86_400_000,
        summary: 'm',
      },
    ],
    [
      '429 with Retry-After exactly 15 min: not capped',
      429,
      { 'retry-after': '900' },
      json({ msg: 'm', code: 'RateLimitExceeded' }),
      { ok: false, kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', retryAfterMs: 900_000, summary: 'm' },
    ],
    [
      'an error JSON past the first 8 KB is read as text',
      500,
      {},
      json({ msg: 'x'.repeat(9000), code: 'GenericError' }),
      { ok: false, kind: 'retryable', reason: 'server error', status: 500, summary: `"{"msg":"${'x'.repeat(112)}…"` },
    ],
  ])('%s', (_name, status, headers, body, expected) => {
    expect(classifyIterableResponse({ status, headers, body }, NOW)).toEqual(expected);
  });
});

describe('classifyError', () => {
  const axiosError = (code: string | undefined, message: string, response?: unknown) =>
    Object.assign(new Error(message), { isAxiosError: true, code, response });

  it.each([
    [
      'a connection reset',
      axiosError('ECONNRESET', 'socket hang up'),
      { kind: 'retryable', reason: 'network error', networkCode: 'ECONNRESET', summary: 'network error: socket hang up' },
    ],
    [
      'a refused connection',
      axiosError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
      { kind: 'retryable', reason: 'network error', networkCode: 'ECONNREFUSED', summary: 'network error: connect ECONNREFUSED 127.0.0.1:1' },
    ],
    [
      'a timeout',
      axiosError('ETIMEDOUT', 'timeout of 100ms exceeded'),
      { kind: 'retryable', reason: 'network error', networkCode: 'ETIMEDOUT', summary: 'timed out (timeout of 100ms exceeded)' },
    ],
    [
      'an aborted request',
      axiosError('ECONNABORTED', 'timeout of 100ms exceeded'),
      { kind: 'retryable', reason: 'network error', networkCode: 'ECONNABORTED', summary: 'timed out (timeout of 100ms exceeded)' },
    ],
    [
      'a DNS failure outside axios',
      Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }),
      { kind: 'retryable', reason: 'network error', networkCode: 'ENOTFOUND', summary: 'network error: getaddrinfo ENOTFOUND x' },
    ],
    [
      'an axios error with a 429 answer',
      axiosError('ERR_BAD_RESPONSE', 'Request failed', {
        status: 429,
        headers: { 'retry-after': '1' },
        data: '{"msg":"slow down","code":"RateLimitExceeded"}',
      }),
      { kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', retryAfterMs: 1000, summary: 'slow down' },
    ],
    [
      'an answer over maxContentLength, not read',
      Object.assign(axiosError('ERR_BAD_RESPONSE', 'maxContentLength size of 1048576 exceeded'), {
        config: { maxContentLength: 1_048_576 },
        request: { res: { statusCode: 500 } },
      }),
      { kind: 'retryable', reason: 'server error', status: 500, summary: 'answer larger than 1048576 bytes, not read' },
    ],
    [
      'a capped Retry-After kept through an IterableError',
      new IterableError('wait', { kind: 'retryable', reason: 'rate limited', status: 429, retryAfterMs: 900_000, retryAfterAskedMs: 3_600_000 }),
      { kind: 'retryable', reason: 'rate limited', status: 429, retryAfterMs: 900_000, retryAfterAskedMs: 3_600_000, summary: 'wait' },
    ],
    [
      'a programming error',
      new TypeError('x is not a function'),
      { kind: 'permanent', reason: 'bad request', summary: 'unexpected error: x is not a function' },
    ],
    ['a thrown string', 'boom', { kind: 'permanent', reason: 'bad request', summary: 'unexpected error: boom' }],
    [
      'an IterableError as it is',
      new IterableError('Iterable said no', { kind: 'split', reason: 'too large', status: 413 }),
      { kind: 'split', reason: 'too large', status: 413, summary: 'Iterable said no' },
    ],
  ])('%s', (_name, error, expected) => {
    expect(classifyError(error, NOW)).toEqual(expected);
  });
});
