import { Counter, Gauge, Registry } from 'prom-client';

export interface BacklogSources {
  /** Members waiting to be brought to their newest state, and the age of the oldest wait in ms (null: none). */
  backlog(): Promise<{ pending: number; oldestAgeMs: number | null }>;
  /** List sync signals waiting, delayed or active. */
  queueDepth(): Promise<number>;
}

/** How long one backlog read answers scrapes (the backlog query scans the inbox). */
export const BACKLOG_CACHE_MS = 5000;

/** `read`, called at most once per `cacheMs`: every call meanwhile shares the one answer (or failure). */
export function cachedRead<T>(read: () => Promise<T>, cacheMs: number): () => Promise<T> {
  let reading: Promise<T> | undefined;
  return () => (reading ??= read().finally(() => setTimeout(() => (reading = undefined), cacheMs).unref()));
}

/**
 * The backlog gauges both apps serve, read from their sources at most once per `cacheMs`. Alert on
 * `audience_bridge_oldest_pending_seconds`: it grows while Iterable fails or a list is suspended.
 * Every process reads the same database and queue, so across the API's processes they aggregate by `max`
 * (the freshest of the reads), never by a sum.
 */
export function registerBacklogGauges(registry: Registry, sources: BacklogSources, cacheMs = BACKLOG_CACHE_MS): void {
  // One read serves both gauges and every scrape within cacheMs: scrapes never add load to the database.
  const read = cachedRead(() => sources.backlog(), cacheMs);
  new Gauge({
    name: 'audience_bridge_pending_changes',
    help: 'Members waiting to be brought to their newest state in an Iterable list (inbox rows)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set((await read()).pending);
    },
  });
  new Gauge({
    name: 'audience_bridge_oldest_pending_seconds',
    help: 'Age of the oldest change waiting for Iterable, in seconds (0 when none waits)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set(((await read()).oldestAgeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'audience_bridge_queue_depth',
    help: 'List sync signals waiting, delayed or active in the queue',
    registers: [registry],
    aggregator: 'max',
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

/**
 * Database contention, which the design keeps at zero: ingest and delivery never write the same rows. The two
 * `_total` series are counters of this process (summed over the API's processes); lock waits are a gauge of the
 * whole database.
 */
export function registerContentionGauges(registry: Registry, db: ContentionSources): void {
  /** A counter that follows a running total kept elsewhere (it only ever grows). */
  const follow = (name: string, help: string, total: () => number) => {
    let counted = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = total();
        if (now > counted) this.inc(now - counted);
        counted = Math.max(counted, now);
      },
    });
  };
  follow('audience_bridge_db_deadlocks_total', 'Transactions chosen as a deadlock victim in this process (retried)', () => db.contention.deadlocks);
  follow(
    'audience_bridge_db_serialization_failures_total',
    'Transactions failed for serialization in this process (retried)',
    () => db.contention.serializationFailures,
  );
  new Gauge({
    name: 'audience_bridge_db_lock_waits',
    help: 'Database sessions waiting for a lock at scrape time (PostgreSQL)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set(await db.lockWaits());
    },
  });
}
