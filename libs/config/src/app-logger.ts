import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { currentCorrelationId } from './correlation';
import { LOG_LEVELS, LogLevelName, SECRET_VARIABLES } from './environment';

/** The levels printed at `level` and above (`log` prints fatal, error, warn and log). */
export function logLevelsFrom(level: LogLevelName): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1) as LogLevel[];
}

/** What Nest's ConsoleLogger passes to `getJsonLogObject`. */
interface JsonLogOptions {
  context: string;
  logLevel: LogLevel;
  writeStreamType?: 'stdout' | 'stderr';
  errorStack?: unknown;
  params?: Record<string, unknown>;
  error?: Error;
}

/**
 * Nest's console logger, with the correlation id of the work running (`correlation.ts`): in text after the context
 * (`[ListSyncProcessor] [job:42] …`), in JSON as `correlationId`.
 */
class CorrelatedLogger extends ConsoleLogger {
  protected override formatContext(context: string): string {
    const id = currentCorrelationId();
    return `${super.formatContext(context)}${id === undefined ? '' : `[${id}] `}`;
  }

  protected override getJsonLogObject(message: unknown, options: JsonLogOptions) {
    const id = currentCorrelationId();
    const object = super.getJsonLogObject(message, options);
    return id === undefined ? object : { ...object, correlationId: id };
  }
}

/** One logger per process: text for people, or one JSON object per line for log shippers. */
export function createAppLogger(appName: string, options: { level: LogLevelName; format: 'text' | 'json' }): ConsoleLogger {
  return new CorrelatedLogger({
    prefix: appName,
    logLevels: logLevelsFrom(options.level),
    json: options.format === 'json',
    colors: options.format === 'text' && Boolean(process.stdout.isTTY),
  });
}

/** Variables that may hold a URL with a password. */
const URL_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'ITERABLE_API_BASE_URL'];

/**
 * `text` with every secret of `env` replaced by `***`: the values of the secret variables, the passwords of the
 * URL variables (as written and percent-decoded), and the password of any `scheme://user:password@` in it.
 * Values shorter than 4 characters are left alone (they would blank out ordinary words; no valid secret is so short).
 */
export function redactSecrets(text: string, env: Record<string, string | undefined> = process.env): string {
  const hidden = new Set<string>();
  for (const key of SECRET_VARIABLES) {
    const value = env[key];
    if (value) hidden.add(value);
  }
  for (const key of URL_VARIABLES) {
    const match = env[key]?.match(/^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s]*)@/i);
    if (match?.[1]) {
      hidden.add(match[1]);
      try {
        hidden.add(decodeURIComponent(match[1]));
      } catch {
        // not percent-encoded: the raw form is hidden already
      }
    }
  }
  let out = text;
  for (const value of [...hidden].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(value).join('***');
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@]+@/gi, '$1***@');
}

/** What a process that could not start says about `error`: its message, with every secret of the environment hidden. */
export function bootFailureMessage(error: unknown, env: Record<string, string | undefined> = process.env): string {
  return redactSecrets(error instanceof Error ? error.message : String(error), env);
}

/**
 * Logs why a process could not start and exits 1. Used before the configuration is known, so it reads
 * LOG_FORMAT itself. No secret of the environment is printed (see `bootFailureMessage`).
 */
export function exitOnBootFailure(appName: string, error: unknown): never {
  const logger = createAppLogger(appName, { level: 'error', format: process.env['LOG_FORMAT'] === 'json' ? 'json' : 'text' });
  logger.error(`${appName} refused to start: ${bootFailureMessage(error)}`, undefined, 'Bootstrap');
  process.exit(1);
}

/**
 * On SIGTERM or SIGINT: run every shutdown hook (`app.close()`), log it and exit 0, so a stop is a clean
 * exit for supervisors. A second signal while closing exits at once.
 */
export function closeOnSignals(app: { close(): Promise<void> }, logger: ConsoleLogger, appName: string): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    logger.log(`${signal} received, closing`, 'Shutdown');
    app.close().then(
      () => {
        logger.log(`${appName} stopped`, 'Shutdown');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`${appName} did not close cleanly: ${error instanceof Error ? error.message : String(error)}`, undefined, 'Shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
