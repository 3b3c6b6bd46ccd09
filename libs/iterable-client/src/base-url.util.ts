import type { DataCenter } from '@audience-bridge/domain';

export const ITERABLE_BASE_URLS: Readonly<Record<DataCenter, string>> = {
  US: 'https://api.iterable.com',
  EU: 'https://api.eu.iterable.com',
};

/** The path prefix under which the fake Iterable serves its EU data center. */
export const FAKE_EU_PATH_PREFIX = '/eu';

/** `url` without its trailing slashes (a loop: a `/\/+$/` pattern is quadratic on a run of slashes). */
export function trimTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return url.slice(0, end);
}

/**
 * The base URL for a data center. Without an override: Iterable's own hosts. With a string override
 * (ITERABLE_API_BASE_URL, e.g. the fake at http://127.0.0.1:4010): US uses it as it is, EU appends `/eu`.
 * With an object override: the URL named for the data center, else Iterable's own.
 */
export function resolveBaseUrl(dataCenter: DataCenter, override?: string | Partial<Record<DataCenter, string>>): string {
  const trim = (url: string): string => trimTrailingSlashes(url.trim());
  if (override === undefined || (typeof override === 'string' && override.trim() === '')) return ITERABLE_BASE_URLS[dataCenter];
  if (typeof override === 'string') return dataCenter === 'EU' ? `${trim(override)}${FAKE_EU_PATH_PREFIX}` : trim(override);
  const named = override[dataCenter];
  return named ? trim(named) : ITERABLE_BASE_URLS[dataCenter];
}
