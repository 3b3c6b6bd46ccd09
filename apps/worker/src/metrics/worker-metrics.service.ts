import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics, registerBacklogGauges, registerContentionGauges } from '@audience-bridge/metrics';
import { Database, MembershipsRepository } from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';

/** The worker's Prometheus metrics, served at GET /metrics on WORKER_PORT. */
@Injectable()
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly iterableCalls = new Counter({
    name: 'audience_bridge_iterable_calls_total',
    help: 'Iterable lists/subscribe and lists/unsubscribe calls, by action and HTTP status (network errors as "error", dry runs as "dry_run")',
    labelNames: ['action', 'status'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'audience_bridge_iterable_rate_limited_total',
    help: 'Iterable answers 429 (rate limited)',
    registers: [this.registry],
  });

  readonly callDuration = new Histogram({
    name: 'audience_bridge_iterable_call_duration_seconds',
    help: 'Duration of Iterable calls',
    labelNames: ['action'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'audience_bridge_iterable_batch_size',
    help: 'Subscribers per Iterable call',
    labelNames: ['action'] as const,
    buckets: [1, 10, 50, 100, 250, 500, 750, 900, 1000],
    registers: [this.registry],
  });

  readonly verdicts = new Counter({
    name: 'audience_bridge_verdicts_total',
    help: 'Per-user verdicts recorded, by outcome and reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly erasures = new Counter({
    name: 'audience_bridge_erasures_total',
    help: 'Data subject erasures completed, and users/forget calls Iterable accepted for them',
    labelNames: ['what'] as const,
    registers: [this.registry],
  });

  constructor(memberships: MembershipsRepository, producer: ListSyncProducer, db: Database) {
    collectProcessMetrics(this.registry, 'audience_bridge_worker_');
    registerBacklogGauges(this.registry, { backlog: () => memberships.backlog(), queueDepth: () => producer.depth() });
    registerContentionGauges(this.registry, db);
  }
}
