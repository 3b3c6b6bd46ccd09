import { Registry } from 'prom-client';
import { registerBacklogGauges } from './backlog-gauges';

describe('registerBacklogGauges', () => {
  it('reads pending changes and queue depth at each scrape', async () => {
    const registry = new Registry();
    let pending = 3;
    registerBacklogGauges(registry, { pending: async () => pending, queueDepth: async () => 7 });
    expect(await registry.metrics()).toMatch(/audience_bridge_pending_changes 3\n[\s\S]*audience_bridge_queue_depth 7/);
    pending = 0;
    expect(await registry.metrics()).toMatch(/audience_bridge_pending_changes 0\n/);
  });
});
