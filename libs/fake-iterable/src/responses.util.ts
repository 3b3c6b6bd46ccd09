import type { FailedUpdateCategory, FailedUpdates } from './fake-iterable.types';
import { FAILED_UPDATE_CATEGORIES } from './fake-iterable.types';

export interface IterableApiResponse {
  msg: string;
  code: string;
  params: Record<string, unknown> | null;
}

export const apiResponse = (msg: string, code: string, params: Record<string, unknown> | null = {}): IterableApiResponse => ({
  msg,
  code,
  params,
});

export const badApiKey = (ip: string, endpoint: string): IterableApiResponse => apiResponse('Invalid API key', 'BadApiKey', { ip, endpoint });

export const rateLimitExceeded = (endpoint: string, projectId: number): IterableApiResponse =>
  apiResponse(`Exceeded rate limit for endpoint: ${endpoint}, project: ${projectId}`, 'RateLimitExceeded', {});

/** The default body of a forced answer with this status. */
export function defaultBodyForStatus(status: number, endpoint: string, projectId: number): IterableApiResponse {
  switch (status) {
    case 400:
      return apiResponse('Invalid params', 'BadParams', {});
    case 401:
      return badApiKey('127.0.0.1', endpoint);
    case 403:
      return apiResponse('Forbidden', 'Forbidden', { endpoint });
    case 413:
      return apiResponse('Request entity too large', 'BatchTooLarge', {});
    case 429:
      return rateLimitExceeded(endpoint, projectId);
    case 503:
      return apiResponse('Request timeout. Try again later.', 'GenericError', null);
    default:
      return status >= 500
        ? apiResponse('An unexpected error occurred. Please try again later', 'GenericError', null)
        : apiResponse(`Error ${status}`, 'GenericError', null);
  }
}

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Iterable (a Play application) answers an unknown route with an HTML page, not JSON. */
export function actionNotFoundPage(method: string, path: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><title>Action not found</title></head>',
    '<body>',
    '<h1>Action not found</h1>',
    `<p id="detail">For request '${escapeHtml(method)} ${escapeHtml(path)}'</p>`,
    '</body>',
    '</html>',
  ].join('\n');
}

/**
 * A server's HTML error page of about `bytes` characters (for a forced fault's `body`), of the kind that made an
 * old title pattern of our client (`/<title[^>]*>([^<]*)<\/title>/i`) quadratic: a template dump with a `<title`
 * opening on every line and no `>` after the page's head (about 15 s of a blocked event loop for 1 MB).
 */
export function hugeErrorPage(bytes: number): string {
  const head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body><h1>500 Internal Server Error</h1><pre>\n';
  const tail = '</pre></body></html>\n';
  const line = 'template.html:1 <title lang=en\n';
  return head + line.repeat(Math.max(0, Math.floor((bytes - head.length - tail.length) / line.length))) + tail;
}

export const emptyFailedUpdates = (): FailedUpdates =>
  Object.fromEntries(FAILED_UPDATE_CATEGORIES.map((category) => [category, [] as string[]])) as FailedUpdates;

export interface BulkUpdateResult {
  successCount: number;
  failCount: number;
  failedUpdates: FailedUpdates;
  createdFields: string[];
  filteredOutFields: string[];
}

/** The `UserBulkUpdateListResponse` body, with or without the empty arrays. */
export function bulkUpdateBody(result: BulkUpdateResult, omitEmptyArrays: boolean): Record<string, unknown> {
  const keep = (values: string[]): boolean => !omitEmptyArrays || values.length > 0;
  const failedUpdates: Partial<Record<FailedUpdateCategory, string[]>> = {};
  for (const category of FAILED_UPDATE_CATEGORIES) {
    if (keep(result.failedUpdates[category])) failedUpdates[category] = result.failedUpdates[category];
  }
  const body: Record<string, unknown> = { successCount: result.successCount, failCount: result.failCount };
  if (Object.keys(failedUpdates).length > 0) body.failedUpdates = failedUpdates;
  // The deprecated top-level copies.
  if (keep(result.failedUpdates.invalidEmails)) body.invalidEmails = result.failedUpdates.invalidEmails;
  if (keep(result.failedUpdates.invalidUserIds)) body.invalidUserIds = result.failedUpdates.invalidUserIds;
  if (keep(result.createdFields)) body.createdFields = result.createdFields;
  if (keep(result.filteredOutFields)) body.filteredOutFields = result.filteredOutFields;
  return body;
}
