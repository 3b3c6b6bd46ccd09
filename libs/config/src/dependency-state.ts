/** What a process says about a dependency; the app logger (or any object with these two methods) fits. */
export interface DependencyLog {
  log(message: string, context?: string): void;
  warn(message: string, context?: string): void;
}

/** The URL without its credentials: `redis://user:secret@host:6379/0` → `redis://host:6379/0`. */
export function urlWithoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
}

const HINTS: Record<string, string> = {
  redis: 'is Redis running? README "Set up" says how to start it, or set REDIS_URL',
  database: 'is PostgreSQL running? README "Set up" says how to start it, or fix DATABASE_URL',
};

/** A short, host-free reason: the error code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…) or the error's class. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  return error instanceof Error ? error.name : 'no answer';
}

/**
 * The reachability of one dependency, said once per change: the first failure logs one warning naming the
 * dependency, its URL without credentials and what to do; further failures say nothing until it answers
 * again, which is logged once too. Retrying is the client's own (ioredis reconnects with backoff, the boot
 * wait below backs off); this only keeps the log to one line per state change.
 */
export class DependencyState {
  private state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    readonly name: 'redis' | 'database',
    private readonly url: string,
    private readonly logger: DependencyLog,
  ) {}

  get isDown(): boolean {
    return this.state === 'down';
  }

  down(error: unknown): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.logger.warn(
      `${this.name} at ${urlWithoutCredentials(this.url)} is unreachable (${reasonOf(error)}): ${HINTS[this.name]}. Retrying with backoff; ` +
        `the next line about it comes when this changes.`,
      'Dependencies',
    );
  }

  up(): void {
    const was = this.state;
    this.state = 'up';
    if (was === 'down') this.logger.log(`${this.name} at ${urlWithoutCredentials(this.url)} is reachable again`, 'Dependencies');
  }
}

/**
 * Resolves once `probe` succeeds, retrying with exponential backoff (500 ms doubling to `maxDelayMs`) and
 * saying so through `state` once per change. Used at boot for what a process cannot start without.
 */
export async function waitUntilReachable(state: DependencyState, probe: () => Promise<void>, maxDelayMs = 15_000): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await probe();
      state.up();
      return;
    } catch (error) {
      state.down(error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(maxDelayMs, 500 * 2 ** attempt)));
    }
  }
}
