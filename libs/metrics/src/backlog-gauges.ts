import { Gauge, Registry } from 'prom-client';

export interface BacklogSources {
  /** Membership changes accepted and not yet settled. */
  pending(): Promise<number>;
  /** List sync signals waiting, delayed or active. */
  queueDepth(): Promise<number>;
}

/** The two backlog gauges both apps serve, read from their sources at each scrape. */
export function registerBacklogGauges(registry: Registry, sources: BacklogSources): void {
  new Gauge({
    name: 'audience_bridge_pending_changes',
    help: 'Membership changes accepted and not yet settled',
    registers: [registry],
    async collect() {
      this.set(await sources.pending());
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
