import type { JobOptions } from 'bull';

/** Queue names (kebab-case), one place for all of them. */
export const QUEUES = {
  listSync: 'list-sync',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  /** Bring one Iterable list to its newest state (its inbox rows). */
  syncList: 'sync-list',
  /** Delete delivery audit rows older than AUDIT_RETENTION_DAYS (repeatable, daily). */
  pruneAudit: 'prune-audit',
} as const;

/** The Iterable list to bring to its newest state (list ids are unique across Iterable: no account needed). */
export interface SyncListJobData {
  listId: number;
}

/**
 * One waiting job per list at a time: Bull ignores an add whose job id already waits, so a burst of
 * messages for one list becomes one job. (The job is only a signal: the work is the pending rows in the
 * database, and a sweeper re-enqueues lists whose signal was lost.)
 */
export function syncListJobId({ listId }: SyncListJobData): string {
  return `sync-list:${listId}`;
}

/** How long a new signal waits before a worker takes it, so changes arriving together leave together. */
export const SYNC_LIST_DELAY_MS = 200;

/**
 * Defaults of every job. Finished and failed jobs are removed: the database keeps the state and the
 * audit, and a kept job id would block the next signal for its list.
 */
export const DEFAULT_JOB_OPTIONS: JobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: true,
};
