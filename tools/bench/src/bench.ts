import { cpus, totalmem } from 'node:os';
import { comparisonRows, runComparison } from './comparison';
import { deliveryRows, runDelivery } from './delivery';
import { ingestRows, runIngest } from './ingest';
import { fmt, table } from './stats';

// npm run bench: the ingest and delivery benchmarks and the comparison with a naive forwarder, one table.
async function main(): Promise<void> {
  const driver = (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite';
  const limit = Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20);
  const changes = Number(process.env['BENCH_CHANGES'] ?? 100_000);
  process.stdout.write(`machine: ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}; database ${driver}; every process on this machine\n`);

  process.stdout.write('running ingest (20 s)…\n');
  const ingest = await runIngest({ senders: 16, profiles: 50, seconds: 20, apiProcesses: 2, withWorker: true, iterableLimit: limit, driver });
  process.stdout.write(`running delivery (${changes} changes)…\n`);
  const delivery = await runDelivery({ changes, lists: 10, iterableLimit: limit, loneChanges: 20, driver });
  process.stdout.write('running the comparison with a naive forwarder…\n');
  const comparison = await runComparison({ messages: 150, profilesPerMessage: 20, iterableLimit: limit, driver });

  process.stdout.write(
    [
      table(`ingest (${ingest.title})`, ingestRows(ingest)),
      table(`delivery (${delivery.title})`, deliveryRows(delivery, changes, limit)),
      table('peak memory (VmHWM)', [
        ['API (2 processes + supervisor), ingest run', `${fmt(ingest.apiPeakMiB, 0)} MiB`],
        ['worker, ingest run', `${fmt(ingest.workerPeakMiB, 0)} MiB`],
        ['API, delivery run', `${fmt(delivery.apiPeakMiB, 0)} MiB`],
        ['worker, delivery run', `${fmt(delivery.workerPeakMiB, 0)} MiB`],
      ]),
      table(`same traffic, naive forwarder vs audience-bridge (fake Iterable at ${limit} requests/s)`, comparisonRows(comparison)),
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
