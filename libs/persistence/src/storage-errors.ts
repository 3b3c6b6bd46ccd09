/**
 * A write that storage could not make durable: a COMMIT that failed (phase `commit`), or a statement refused
 * because the database is full, read-only, failing I/O or unreachable. Nothing of it was stored, and sending it
 * again later is the answer: the API says 503 with `Retry-After` (mParticle retries 5xx), never 200.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly phase: 'commit' | 'statement',
    override readonly cause: unknown,
  ) {
    super(`storage could not ${phase === 'commit' ? 'commit' : 'write'}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StorageUnavailableError';
  }
}

/** SQLite result codes (better-sqlite3's `code`, extended codes included by prefix) that mean "storage cannot take writes now". */
const SQLITE_UNAVAILABLE = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
];

/**
 * PostgreSQL SQLSTATE classes that mean the same: 08 connection exception, 53 insufficient resources (disk full,
 * out of memory, too many connections), 57 operator intervention (shutdown, cancelled by admin), 58 system error
 * (I/O), and serialization failures and deadlocks still failing after their retries.
 */
const POSTGRES_UNAVAILABLE = /^(08|53|57|58)|^40001$|^40P01$/;

/** Network errors of the PostgreSQL client: the server went away. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

function codeOf(error: unknown): string | undefined {
  const e = error as { driverError?: { code?: unknown }; code?: unknown } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether `error` means storage cannot take the write right now (so: 503 and try again), as opposed to a fault
 * of the write itself. A failed COMMIT is always such a case, whatever its cause.
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  const code = codeOf(error);
  if (code !== undefined) {
    if (SQLITE_UNAVAILABLE.some((c) => code === c || code.startsWith(`${c}_`))) return true;
    if (POSTGRES_UNAVAILABLE.test(code)) return true;
    if (NETWORK_CODES.has(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  // A database that takes no connections (SQLSTATE 55000 when ALLOW_CONNECTIONS is off: a restart or failover by hand).
  return /Connection terminated|connection is closed|database or disk is full|disk I\/O error|is not currently accepting connections/i.test(message);
}
