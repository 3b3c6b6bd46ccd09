import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * Correlation ids (README "Logs"): every log line written while a request, a list delivery or a job runs carries
 * its id, so one grep finds everything that happened for it. Held in an AsyncLocalStorage: set once where the work
 * starts, read by the logger wherever the work goes (awaits included).
 */
const storage = new AsyncLocalStorage<string>();

/** An `x-request-id` we take as given: printable, no spaces or quotes, 1–128 characters. */
const ACCEPTED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The id a request is known by: its `x-request-id` when that is a sensible token, else a new one. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && ACCEPTED.test(given) ? given : randomUUID();
}

/** Runs `work` (and everything it awaits) under `id`. */
export function withCorrelationId<T>(id: string, work: () => T): T {
  return storage.run(id, work);
}

/** The id of the work running now, if any. */
export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}
