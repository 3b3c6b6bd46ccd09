import { Gauge, Registry } from 'prom-client';

export interface BacklogSources {
  /** Members waiting to be brought to their newest state, and the age of the oldest wait in ms (null: none). */
  backlog(): Promise<{ pending: number; oldestAgeMs: number | null }>;
  /** List sync signals waiting, delayed or active. */
  queueDepth(): Promise<number>;
}

/** How long one backlog read answers scrapes (the backlog query scans the inbox). */
export const BACKLOG_CACHE_MS = 5000;

/**
 * The backlog gauges both apps serve, read from their sources at most once per `cacheMs`. Alert on
 * `audience_bridge_oldest_pending_seconds`: it grows while Iterable fails or a list is suspended.
 */
export function registerBacklogGauges(registry: Registry, sources: BacklogSources, cacheMs = BACKLOG_CACHE_MS): void {
  // One read serves both gauges and every scrape within cacheMs: scrapes never add load to the database.
  let reading: Promise<{ pending: number; oldestAgeMs: number | null }> | undefined;
  const read = () => {
    reading ??= sources.backlog().finally(() => setTimeout(() => (reading = undefined), cacheMs).unref());
    return reading;
  };
  new Gauge({
    name: 'audience_bridge_pending_changes',
    help: 'Members waiting to be brought to their newest state in an Iterable list (inbox rows)',
    registers: [registry],
    async collect() {
      this.set((await read()).pending);
    },
  });
  new Gauge({
    name: 'audience_bridge_oldest_pending_seconds',
    help: 'Age of the oldest change waiting for Iterable, in seconds (0 when none waits)',
    registers: [registry],
    async collect() {
      this.set(((await read()).oldestAgeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'audience_bridge_queue_depth',
    help: 'List sync signals waiting, delayed or active in the queue',
    registers: [registry],
    async collect() {
      this.set(await sources.queueDepth());
    },
  });
}

export interface ContentionSources {
  /** Deadlock victims and serialization failures so far in this process (each retried). */
  contention: { deadlocks: number; serializationFailures: number };
  /** Sessions waiting for a lock now. */
  lockWaits(): Promise<number>;
}

/** Database contention, which the design keeps at zero: ingest and delivery never write the same rows. */
export function registerContentionGauges(registry: Registry, db: ContentionSources): void {
  new Gauge({
    name: 'audience_bridge_db_deadlocks_total',
    help: 'Transactions chosen as a deadlock victim in this process (retried)',
    registers: [registry],
    collect() {
      this.set(db.contention.deadlocks);
    },
  });
  new Gauge({
    name: 'audience_bridge_db_serialization_failures_total',
    help: 'Transactions failed for serialization in this process (retried)',
    registers: [registry],
    collect() {
      this.set(db.contention.serializationFailures);
    },
  });
  new Gauge({
    name: 'audience_bridge_db_lock_waits',
    help: 'Database sessions waiting for a lock at scrape time (PostgreSQL)',
    registers: [registry],
    async collect() {
      this.set(await db.lockWaits());
    },
  });
}
