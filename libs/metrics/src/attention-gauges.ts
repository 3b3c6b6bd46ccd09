import { Gauge, Registry } from 'prom-client';
import { BACKLOG_CACHE_MS, cachedRead } from './backlog-gauges';

export interface AttentionSources {
  /** Accounts and audience connections suspended now (nothing goes out for them until resumed or given a new key). */
  suspended(): Promise<{ accounts: number; audiences: number }>;
  /** Lists backing off after transient failures, and since when the longest of them fails (epoch ms; null: none). */
  failing(): Promise<{ lists: number; oldestSince: number | null }>;
  /** Changes recorded for audiences that name no Iterable list yet (held). */
  heldWithoutList(): Promise<number>;
}

/**
 * What needs an operator, as the console's overview and `/v1/stats` say it, read from the database at most once
 * per `cacheMs` whoever scrapes (three counting queries, each over a small table or an index). Every process reads
 * the same database, so across the API's processes they aggregate by `max`.
 */
export function registerAttentionGauges(registry: Registry, sources: AttentionSources, cacheMs = BACKLOG_CACHE_MS, now = () => Date.now()): void {
  const read = cachedRead(async () => {
    const [suspended, failing, held] = await Promise.all([sources.suspended(), sources.failing(), sources.heldWithoutList()]);
    return { suspended, failing, held, at: now() };
  }, cacheMs);
  new Gauge({
    name: 'audience_bridge_suspended_connections',
    help: 'Suspended accounts (scope="account") and audience connections (scope="audience"): nothing goes out for them until resumed',
    labelNames: ['scope'] as const,
    registers: [registry],
    aggregator: 'max',
    async collect() {
      const { suspended } = await read();
      this.set({ scope: 'account' }, suspended.accounts);
      this.set({ scope: 'audience' }, suspended.audiences);
    },
  });
  new Gauge({
    name: 'audience_bridge_failing_lists',
    help: 'Iterable lists backing off after transient failures (429, 5xx, network errors, unknown outcomes)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set((await read()).failing.lists);
    },
  });
  new Gauge({
    name: 'audience_bridge_failing_seconds',
    help: 'How long the longest-failing list has failed without a success, in seconds (0 when none fails)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      const { failing, at } = await read();
      this.set(failing.oldestSince === null ? 0 : Math.max(0, at - failing.oldestSince) / 1000);
    },
  });
  new Gauge({
    name: 'audience_bridge_held_changes',
    help: 'Membership changes held because their audience names no Iterable list',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set((await read()).held);
    },
  });
}
