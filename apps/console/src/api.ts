// Every call to the admin API: `Authorization: Bearer <ADMIN_TOKEN>` from session storage, same origin only.

const TOKEN_KEY = 'audience-bridge.admin-token';

/** The admin token lives in session storage: gone when the tab closes or on sign-out; never in a URL or a log. */
export const tokenStore = {
  get(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An answer the console can show: what happened, in words, and the HTTP status (null: the API was not reached). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  message?: unknown;
  errorId?: unknown;
  details?: unknown;
}

/** Turns an error answer into a sentence that says what happened and what to do. */
export function describeError(status: number, body: ErrorBody | undefined, what: string): string {
  const message = typeof body?.message === 'string' ? body.message : Array.isArray(body?.message) ? body.message.join('; ') : undefined;
  if (status === 401) return 'The admin token was refused. Sign in again with the ADMIN_TOKEN the API was started with.';
  if (status === 404) return message ? `Not found: ${message}.` : `${what}: not found.`;
  if (status >= 400 && status < 500) return `${what} was refused (${status}): ${message ?? 'bad request'}.`;
  if (status === 503) return `${what} failed: the API says a dependency is down (${message ?? '503'}). It retries by itself; see /health/ready.`;
  const id = typeof body?.errorId === 'string' ? ` Quote error id ${body.errorId} to whoever reads the API's logs.` : '';
  return `${what} failed: the API answered ${status}.${id}`;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  body?: unknown;
  /** A token to try instead of the stored one (signing in). */
  token?: string;
  /** Words for error messages: "Loading connections". */
  what?: string;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = options.token ?? tokenStore.get();
  const what = options.what ?? `${options.method ?? 'GET'} ${path.split('?')[0]}`;
  if (!token) throw new ApiError('Not signed in.', 401);
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(`${what} failed: the API did not answer. Is it running? The console keeps retrying.`, null);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new ApiError(describeError(res.status, json as ErrorBody | undefined, what), res.status);
  return json as T;
}

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== null && e[1] !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
}
