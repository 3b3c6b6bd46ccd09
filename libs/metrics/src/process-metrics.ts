import { Aggregator, collectDefaultMetrics, Registry } from 'prom-client';

/**
 * prom-client's default metrics that are gauges named `_total`: by Prometheus' conventions a `_total` series is a
 * counter (rate() and increase() assume it only grows), so they are left out. Nothing is lost: the same figures are
 * the gauges without `_total`, one series per type (`nodejs_active_handles{type="Socket"}`…).
 */
export const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/**
 * Node.js and process metrics (prom-client's defaults) under `prefix`, without the gauges named `_total`.
 * Across the API's processes they sum (memory, CPU seconds, handles of the machine's API) except where prom-client
 * chose otherwise (event loop lag: mean, min, max; the version: first; the start time: left out) and the
 * descriptor limit, which is the same for every process (max).
 */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(`${prefix}${name}`);
  // Every metric object has the `aggregator` its constructor was given; prom-client's typings leave it out.
  const maxFds = registry.getSingleMetric(`${prefix}process_max_fds`) as { aggregator: Aggregator } | undefined;
  if (maxFds) maxFds.aggregator = 'max';
}
