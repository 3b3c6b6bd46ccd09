// The contract tests need the fake Iterable in-process. It is a tool (scope:tools): the lint config lets a
// library's tests and src/testing/ helpers use tools, and src/testing/ is excluded from the lib's build.
import { hugeErrorPage, startFakeIterable } from '@audience-bridge/fake-iterable';
import type { FaultConfig, LoggedRequest, RunningFakeIterable } from '@audience-bridge/fake-iterable';

export type { FaultConfig, LoggedRequest, RunningFakeIterable };
export { hugeErrorPage, startFakeIterable };

/** A key that is long and unique enough to be found in any text it leaks into. */
export const testApiKey = (label: string): string => `${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/** Everything a logger received, per level. */
export function capturingLogger() {
  const lines: { level: 'debug' | 'warn' | 'error'; message: string }[] = [];
  return {
    lines,
    logger: {
      debug: (message: string) => lines.push({ level: 'debug', message }),
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    },
  };
}

/** Resolves with what the promise rejected with (fails the test if it resolved). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
