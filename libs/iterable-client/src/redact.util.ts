import type { IterableLogger } from './iterable.types';

export const REDACTED = '[REDACTED]';

/** Replaces every occurrence of each secret (as it is and URL-encoded) by `[REDACTED]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.split(form).join(REDACTED);
  }
  return result;
}

/** A logger that redacts the secrets from every line before the wrapped logger sees it. */
export function redactingLogger(logger: IterableLogger, secrets: readonly string[]): IterableLogger {
  return {
    debug: (message) => logger.debug(redactSecrets(String(message), secrets)),
    warn: (message) => logger.warn(redactSecrets(String(message), secrets)),
    error: (message) => logger.error(redactSecrets(String(message), secrets)),
  };
}
