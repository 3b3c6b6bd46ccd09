import { Registry } from 'prom-client';
import { registerBacklogGauges } from './backlog-gauges';

describe('registerBacklogGauges', () => {
  it('reads pending changes, the oldest wait and queue depth at each scrape', async () => {
    const registry = new Registry();
    let backlog: { pending: number; oldestAgeMs: number | null } = { pending: 3, oldestAgeMs: 90_500 };
    registerBacklogGauges(registry, { backlog: async () => backlog, queueDepth: async () => 7 }, 0);
    expect(await registry.metrics()).toMatch(
      /audience_bridge_pending_changes 3\n[\s\S]*audience_bridge_oldest_pending_seconds 90.5\n[\s\S]*audience_bridge_queue_depth 7/,
    );
    backlog = { pending: 0, oldestAgeMs: null };
    await new Promise((resolve) => setTimeout(resolve, 5));
    const text = await registry.metrics();
    expect(text).toMatch(/audience_bridge_pending_changes 0\n/);
    expect(text).toMatch(/audience_bridge_oldest_pending_seconds 0\n/);
  });

  it('answers every scrape within the cache window from one read of the backlog', async () => {
    const registry = new Registry();
    let reads = 0;
    registerBacklogGauges(registry, { backlog: async () => ({ pending: ++reads, oldestAgeMs: null }), queueDepth: async () => 0 }, 200);
    for (let i = 0; i < 20; i++) expect(await registry.metrics()).toMatch(/audience_bridge_pending_changes 1\n/);
    expect(reads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await registry.metrics()).toMatch(/audience_bridge_pending_changes 2\n/);
  });
});
