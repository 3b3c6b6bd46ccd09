import cluster from 'node:cluster';
import { offerMetricsToPrimary } from './cluster-metrics';

// Imported first by main.ts: a process the cluster's primary forks answers the primary's asks for metrics (with
// nothing yet) before the rest of the app loads, so a scrape while it starts does not wait for it (prom-client's
// clusterMetrics waits up to 5 s for every connected process).
if (cluster.isWorker && Number(process.env['API_PROCESSES'] ?? 1) > 1) offerMetricsToPrimary();
