import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DriftRepository } from '@audience-bridge/persistence';
import { WorkerMetrics } from '../metrics/worker-metrics.service';

/** How long one read of the latest reports answers scrapes. */
const GAUGE_CACHE_MS = 5000;

/**
 * Drift check metrics, on the worker's registry (GET /metrics on WORKER_PORT): checks and what they found
 * (counters of this process), and per list the newest finished check (gauges read from the database, so every
 * worker reports every list; alert on `audience_bridge_drift_members{kind="missing"}` or `{kind="extra"}` > 0).
 */
@Injectable()
export class DriftMetrics {
  readonly checks: Counter<'outcome' | 'trigger'>;
  readonly members: Counter<'kind'>;
  readonly reads: Counter<'status'>;
  readonly duration: Histogram<'repair'>;

  constructor(metrics: WorkerMetrics, drift: DriftRepository) {
    const registers = [metrics.registry];
    this.checks = new Counter({
      name: 'audience_bridge_drift_checks_total',
      help: 'Drift checks finished by this worker, by outcome (done, failed) and trigger (api, schedule)',
      labelNames: ['outcome', 'trigger'] as const,
      registers,
    });
    this.members = new Counter({
      name: 'audience_bridge_drift_found_total',
      help: 'Members drift checks of this worker found, by kind (missing, extra, left_out, refused) and sent to repair (repaired)',
      labelNames: ['kind'] as const,
      registers,
    });
    this.reads = new Counter({
      name: 'audience_bridge_iterable_list_reads_total',
      help: 'Iterable getUsers reads, by HTTP status ("error" for network errors)',
      labelNames: ['status'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'audience_bridge_drift_check_duration_seconds',
      help: 'From a worker taking a drift check to its verdict (the read budget wait included)',
      labelNames: ['repair'] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    let reading: ReturnType<DriftRepository['latestDone']> | undefined;
    const latest = () => {
      reading ??= drift.latestDone().finally(() => setTimeout(() => (reading = undefined), GAUGE_CACHE_MS).unref());
      return reading;
    };
    new Gauge({
      name: 'audience_bridge_drift_members',
      help: 'Per Iterable list, the newest finished drift check: members missing, extra, left out (in flight)',
      labelNames: ['list_id', 'kind'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of await latest()) {
          this.set({ list_id: String(r.listId), kind: 'missing' }, r.missing);
          this.set({ list_id: String(r.listId), kind: 'extra' }, r.extra);
          this.set({ list_id: String(r.listId), kind: 'left_out' }, r.leftOut);
        }
      },
    });
    new Gauge({
      name: 'audience_bridge_drift_checked_timestamp_seconds',
      help: 'Per Iterable list, when the newest finished drift check read the list (epoch seconds)',
      labelNames: ['list_id'] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of await latest()) this.set({ list_id: String(r.listId) }, (r.checkedAtMs ?? r.finishedAtMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'audience_bridge_drift_checks_running',
      help: 'Drift checks asked for and not finished (waiting in the queue, for the read budget, or running)',
      registers,
      async collect() {
        this.set(await drift.runningCount());
      },
    });
  }
}
