import type { FaultConfig, ForcedFault, RetryAfterFormat } from './fake-iterable.types';

/** mulberry32: a tiny seeded generator, so chaos runs repeat with the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function retryAfterHeader(seconds: number, format: RetryAfterFormat = 'seconds', nowMs = Date.now()): string {
  return format === 'http-date' ? new Date(nowMs + seconds * 1000).toUTCString() : String(seconds);
}

/** Does a forced fault apply to this request? */
export function forcedFaultMatches(fault: ForcedFault, request: { method: string; apiPath: string; apiKey: string | undefined; body?: string }): boolean {
  if (fault.path !== undefined && fault.path !== request.apiPath) return false;
  if (fault.bodyContains !== undefined && !(request.body ?? '').includes(fault.bodyContains)) return false;
  if (fault.method !== undefined && fault.method.toUpperCase() !== request.method.toUpperCase()) return false;
  if (fault.apiKey !== undefined && fault.apiKey !== request.apiKey) return false;
  return true;
}

const isFraction = (value: unknown): boolean => typeof value === 'number' && value >= 0 && value <= 1;
const isNonNegative = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks a fault configuration sent to the control API; returns the problems found (empty = valid). */
export function validateFaultConfig(input: unknown): string[] {
  if (!isObject(input)) return ['the fault configuration must be a JSON object'];
  const problems: string[] = [];
  const { seed, rateLimit, errorRates, resetRate, slow, forced } = input;
  if (seed !== undefined && !Number.isInteger(seed)) problems.push('seed must be an integer');
  if (rateLimit !== undefined) {
    if (!isObject(rateLimit) || !(typeof rateLimit.requestsPerSecond === 'number' && rateLimit.requestsPerSecond > 0)) {
      problems.push('rateLimit.requestsPerSecond must be a positive number');
    } else {
      if (rateLimit.retryAfterSeconds !== undefined && !isNonNegative(rateLimit.retryAfterSeconds)) {
        problems.push('rateLimit.retryAfterSeconds must be a non-negative number');
      }
      if (rateLimit.retryAfterFormat !== undefined && !['seconds', 'http-date'].includes(String(rateLimit.retryAfterFormat))) {
        problems.push('rateLimit.retryAfterFormat must be "seconds" or "http-date"');
      }
    }
  }
  if (errorRates !== undefined) {
    if (!isObject(errorRates)) problems.push('errorRates must be an object');
    else {
      for (const key of ['status500', 'status503'] as const) {
        if (errorRates[key] !== undefined && !isFraction(errorRates[key])) problems.push(`errorRates.${key} must be within 0..1`);
      }
    }
  }
  if (resetRate !== undefined && !isFraction(resetRate)) problems.push('resetRate must be within 0..1');
  if (slow !== undefined) {
    if (!isObject(slow) || !isNonNegative(slow.delayMs)) problems.push('slow.delayMs must be a non-negative number');
    else if (slow.fraction !== undefined && !isFraction(slow.fraction)) problems.push('slow.fraction must be within 0..1');
  }
  if (forced !== undefined) {
    if (!Array.isArray(forced)) problems.push('forced must be an array');
    else {
      forced.forEach((fault: unknown, index) => {
        if (!isObject(fault)) {
          problems.push(`forced[${index}] must be an object`);
          return;
        }
        if (fault.times !== undefined && !(Number.isInteger(fault.times) && Number(fault.times) > 0)) {
          problems.push(`forced[${index}].times must be a positive integer`);
        }
        if (fault.status !== undefined && !(Number.isInteger(fault.status) && Number(fault.status) >= 100 && Number(fault.status) <= 599)) {
          problems.push(`forced[${index}].status must be an HTTP status`);
        }
        if (fault.delayMs !== undefined && !isNonNegative(fault.delayMs)) problems.push(`forced[${index}].delayMs must be a non-negative number`);
        if (fault.bodyContains !== undefined && typeof fault.bodyContains !== 'string') problems.push(`forced[${index}].bodyContains must be a string`);
        if (fault.truncateBodyAtChars !== undefined && !(Number.isInteger(fault.truncateBodyAtChars) && Number(fault.truncateBodyAtChars) >= 0)) {
          problems.push(`forced[${index}].truncateBodyAtChars must be a non-negative integer`);
        }
        if (fault.dropFinalNewline !== undefined && typeof fault.dropFinalNewline !== 'boolean')
          problems.push(`forced[${index}].dropFinalNewline must be a boolean`);
        const cutsBody = fault.truncateBodyAtChars !== undefined || fault.dropFinalNewline === true;
        if (fault.status === undefined && fault.reset !== true && fault.delayMs === undefined && !cutsBody) {
          problems.push(`forced[${index}] needs status, reset, delayMs, truncateBodyAtChars or dropFinalNewline`);
        }
      });
    }
  }
  return problems;
}

/** Normalizes a validated configuration: forced faults get their default `times`. */
export function normalizeFaultConfig(config: FaultConfig): FaultConfig {
  return { ...config, forced: (config.forced ?? []).map((fault) => ({ ...fault, times: fault.times ?? 1 })) };
}
