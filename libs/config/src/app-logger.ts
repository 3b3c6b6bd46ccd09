import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { LOG_LEVELS, LogLevelName } from './environment';

/** The levels printed at `level` and above (`log` prints fatal, error, warn and log). */
export function logLevelsFrom(level: LogLevelName): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1) as LogLevel[];
}

/** One logger per process: text for people, or one JSON object per line for log shippers. */
export function createAppLogger(appName: string, options: { level: LogLevelName; format: 'text' | 'json' }): ConsoleLogger {
  return new ConsoleLogger({
    prefix: appName,
    logLevels: logLevelsFrom(options.level),
    json: options.format === 'json',
    colors: options.format === 'text' && Boolean(process.stdout.isTTY),
  });
}

/**
 * Logs why a process could not start and exits 1. Used before the configuration is known, so it reads
 * LOG_FORMAT itself.
 */
export function exitOnBootFailure(appName: string, error: unknown): never {
  const logger = createAppLogger(appName, { level: 'error', format: process.env['LOG_FORMAT'] === 'json' ? 'json' : 'text' });
  logger.error(`${appName} refused to start: ${error instanceof Error ? error.message : String(error)}`, undefined, 'Bootstrap');
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
