import { AggregatorRegistry, Registry } from 'prom-client';
import { registerAttentionGauges } from './attention-gauges';
import { registerBacklogGauges, registerContentionGauges } from './backlog-gauges';
import { collectProcessMetrics, GAUGES_NAMED_TOTAL } from './process-metrics';

/** One process's registry as the API builds it from these helpers, reading the given figures. */
function processRegistry(figures: { pending: number; deadlocks: number; lockWaits: number; failingSince: number | null }): Registry {
  const registry = new Registry();
  collectProcessMetrics(registry, 'ab_test_');
  registerBacklogGauges(registry, { backlog: async () => ({ pending: figures.pending, oldestAgeMs: 2000 }), queueDepth: async () => 3 }, 0);
  registerAttentionGauges(
    registry,
    {
      suspended: async () => ({ accounts: 1, audiences: 2 }),
      failing: async () => ({ lists: figures.failingSince === null ? 0 : 1, oldestSince: figures.failingSince }),
      heldWithoutList: async () => 4,
    },
    0,
    () => 100_000,
  );
  registerContentionGauges(registry, { contention: { deadlocks: figures.deadlocks, serializationFailures: 0 }, lockWaits: async () => figures.lockWaits });
  return registry;
}

const value = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${series} `))
      ?.slice(series.length + 1),
  );

describe('metrics across the API processes (AggregatorRegistry.aggregate, as the cluster primary does)', () => {
  it('sums counters, and takes the freshest database read of a gauge instead of adding one per process', async () => {
    const a = processRegistry({ pending: 10, deadlocks: 2, lockWaits: 1, failingSince: 40_000 });
    const b = processRegistry({ pending: 12, deadlocks: 3, lockWaits: 0, failingSince: 40_000 });
    const text = await AggregatorRegistry.aggregate([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]).metrics();
    expect(value(text, 'audience_bridge_db_deadlocks_total')).toBe(5);
    expect(value(text, 'audience_bridge_pending_changes')).toBe(12);
    expect(value(text, 'audience_bridge_queue_depth')).toBe(3);
    expect(value(text, 'audience_bridge_db_lock_waits')).toBe(1);
    expect(value(text, 'audience_bridge_suspended_connections{scope="account"}')).toBe(1);
    expect(value(text, 'audience_bridge_suspended_connections{scope="audience"}')).toBe(2);
    expect(value(text, 'audience_bridge_failing_lists')).toBe(1);
    expect(value(text, 'audience_bridge_failing_seconds')).toBe(60);
    expect(value(text, 'audience_bridge_held_changes')).toBe(4);
    expect(text).toMatch(/# TYPE audience_bridge_db_deadlocks_total counter\n/);
  });

  it('has no gauge named _total, its own or prom-client default ones', async () => {
    const metrics = await processRegistry({ pending: 0, deadlocks: 0, lockWaits: 0, failingSince: null }).getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(20);
    expect(metrics.filter((m) => m.name.endsWith('_total') && String(m.type) !== 'counter').map((m) => m.name)).toEqual([]);
    // What was left out is still there per type, as a gauge.
    for (const name of GAUGES_NAMED_TOTAL) expect(metrics.map((m) => m.name)).toContain(`ab_test_${name.replace(/_total$/, '')}`);
  });
});

describe('registerContentionGauges', () => {
  it('counts what the database wrapper counted, never falling', async () => {
    const registry = new Registry();
    const contention = { deadlocks: 0, serializationFailures: 0 };
    registerContentionGauges(registry, { contention, lockWaits: async () => 0 });
    expect(value(await registry.metrics(), 'audience_bridge_db_deadlocks_total')).toBe(0);
    contention.deadlocks = 3;
    contention.serializationFailures = 1;
    let text = await registry.metrics();
    expect(value(text, 'audience_bridge_db_deadlocks_total')).toBe(3);
    expect(value(text, 'audience_bridge_db_serialization_failures_total')).toBe(1);
    contention.deadlocks = 4;
    text = await registry.metrics();
    expect(value(text, 'audience_bridge_db_deadlocks_total')).toBe(4);
  });
});

describe('registerAttentionGauges', () => {
  it('answers every scrape within the cache window from one read of each source', async () => {
    const registry = new Registry();
    const reads = { suspended: 0, failing: 0, held: 0 };
    registerAttentionGauges(
      registry,
      {
        suspended: async () => ({ accounts: 0, audiences: ++reads.suspended }),
        failing: async () => (reads.failing++, { lists: 0, oldestSince: null }),
        heldWithoutList: async () => ++reads.held,
      },
      200,
    );
    for (let i = 0; i < 10; i++) expect(value(await registry.metrics(), 'audience_bridge_held_changes')).toBe(1);
    expect(reads).toEqual({ suspended: 1, failing: 1, held: 1 });
    expect(value(await registry.metrics(), 'audience_bridge_failing_seconds')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(value(await registry.metrics(), 'audience_bridge_suspended_connections{scope="audience"}')).toBe(2);
  });
});
