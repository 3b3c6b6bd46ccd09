import { cpus, totalmem } from 'node:os';
import { comparisonRows, runComparison } from './comparison';
import { deliveryRows, runDelivery } from './delivery';
import { driftRows, runDrift } from './drift';
import { cpuRows, IngestFigures, ingestRows, runFloor, runIngest } from './ingest';
import { fmt, table } from './stats';

// npm run bench: the ingest and delivery benchmarks and the comparison with a naive forwarder, one table.
async function main(): Promise<void> {
  const driver = (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite';
  const limit = Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20);
  const changes = Number(process.env['BENCH_CHANGES'] ?? 100_000);
  process.stdout.write(
    `machine: ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}; database ${driver}; every process on this machine\n`,
  );

  process.stdout.write('running ingest (20 s)…\n');
  const ingest = await runIngest({ senders: 16, profiles: 50, seconds: 20, apiProcesses: 2, withWorker: true, iterableLimit: limit, driver });
  const row = (f: IngestFigures) =>
    `p50 ${fmt(f.p50)} / p99 ${fmt(f.p99)} / max ${fmt(f.max)} ms, ${fmt(f.messagesPerSecond, 0)} messages/s, ${f.deadlocks} deadlocks` +
    (f.non200 ? `, ${f.non200} non-200` : '');
  const versus = (ours: IngestFigures, floor: IngestFigures, name = 'floor') =>
    `throughput ${fmt(ours.changesPerSecond / floor.changesPerSecond, 2)}, p99 ${fmt(ours.p99 / floor.p99, 2)} ` +
    `(${name}: ${fmt(floor.changesPerSecond, 0)} changes/s, p99 ${fmt(floor.p99)} ms)`;
  // The API alone against the floor: the least work a correct answer needs, same load, same machine (floor-server.ts).
  process.stdout.write('running the API alone and the floor (2 processes each, 10 s each)…\n');
  const aloneOptions = { senders: 16, profiles: 50, seconds: 10, apiProcesses: 2, withWorker: false, iterableLimit: limit, driver };
  const apiAlone = await runIngest(aloneOptions);
  const floorAlone = await runFloor(aloneOptions);
  // The floor plus the writes the invariants ask of any implementation (message ids, inbox): how far the floor's
  // ratio could go at best, and what our own code costs beyond those writes.
  process.stdout.write('running the durable floor (2 processes, 10 s)…\n');
  const durableAlone = await runFloor(aloneOptions, 'durable');
  const floorRows: [string, string][] = [
    [`API alone, ${driver}, 2 processes: changes/s, p99`, `${fmt(apiAlone.changesPerSecond, 0)}, ${fmt(apiAlone.p99)} ms`],
    [`floor, ${driver}, 2 processes: changes/s, p99`, `${fmt(floorAlone.changesPerSecond, 0)}, ${fmt(floorAlone.p99)} ms`],
    ['ours / floor', versus(apiAlone, floorAlone)],
    [
      `durable floor (+ message ids and inbox), ${driver}, 2 processes: changes/s, p99`,
      `${fmt(durableAlone.changesPerSecond, 0)}, ${fmt(durableAlone.p99)} ms`,
    ],
    ['durable floor / floor', versus(durableAlone, floorAlone)],
    ['ours / durable floor', versus(apiAlone, durableAlone, 'durable floor')],
    ...cpuRows(apiAlone).map(([name, value]): [string, string] => [`API alone: ${name}`, value]),
    ...cpuRows(floorAlone).map(([name, value]): [string, string] => [`floor: ${name}`, value]),
    ...cpuRows(durableAlone).map(([name, value]): [string, string] => [`durable floor: ${name}`, value]),
  ];
  // The shape that hurts: the same 400 users again and again, the worker settling the very members ingest writes.
  const hot: [string, string][] = [];
  for (const hotDriver of ['postgres', 'sqlite'] as const) {
    const runs = [];
    const hotOptions = { senders: 16, profiles: 50, seconds: 10, apiProcesses: 1, iterableLimit: limit, driver: hotDriver, hotUsers: 400 };
    for (const withWorker of [false, true]) {
      process.stdout.write(`running hot users on ${hotDriver}, ${withWorker ? 'worker draining' : 'API alone'} (10 s)…\n`);
      runs.push(await runIngest({ ...hotOptions, withWorker }));
    }
    process.stdout.write(`running hot users on ${hotDriver} against the floor (10 s)…\n`);
    const floor = await runFloor({ ...hotOptions, withWorker: false });
    const [alone, draining] = runs as [IngestFigures, IngestFigures];
    hot.push(
      [`${hotDriver}, API alone`, row(alone)],
      [`${hotDriver}, worker draining the same users`, row(draining)],
      [`${hotDriver}, draining rate / alone rate`, fmt(draining.messagesPerSecond / alone.messagesPerSecond, 2)],
      [`${hotDriver}, floor (1 process)`, row(floor)],
      [`${hotDriver}, ours / floor: alone`, versus(alone, floor)],
      [`${hotDriver}, ours / floor: worker draining`, versus(draining, floor)],
    );
  }
  process.stdout.write(`running delivery (${changes} changes)…\n`);
  const delivery = await runDelivery({ changes, lists: 10, iterableLimit: limit, loneChanges: 20, againRounds: 3, driver });
  process.stdout.write('running the comparison with a naive forwarder…\n');
  const comparison = await runComparison({ messages: 150, profilesPerMessage: 20, iterableLimit: limit, driver });
  const driftMembers = Number(process.env['BENCH_DRIFT_MEMBERS'] ?? 1_000_000);
  process.stdout.write(`running a drift check of a ${driftMembers.toLocaleString('en')}-member list…\n`);
  const drift = await runDrift({ members: driftMembers, differences: Number(process.env['BENCH_DRIFT_DIFFERENCES'] ?? 1000), driver });

  process.stdout.write(
    [
      table(`ingest (${ingest.title})`, ingestRows(ingest)),
      table('ingest against the floor (16 senders × 50 profiles, users spread over 200,000)', floorRows),
      table('ingest, hot users (API_PROCESSES=1, 16 senders × 50 profiles, 400 users moving in and out of 2 audiences)', hot),
      table(`delivery (${delivery.title})`, deliveryRows(delivery, changes, limit)),
      table('peak memory (VmHWM)', [
        ['API (2 processes + supervisor), ingest run', `${fmt(ingest.apiPeakMiB, 0)} MiB`],
        ['worker, ingest run', `${fmt(ingest.workerPeakMiB, 0)} MiB`],
        ['API, delivery run', `${fmt(delivery.apiPeakMiB, 0)} MiB`],
        ['worker, delivery run', `${fmt(delivery.workerPeakMiB, 0)} MiB`],
      ]),
      table(`same traffic, naive forwarder vs audience-bridge (fake Iterable at ${limit} requests/s)`, comparisonRows(comparison)),
      table(`drift check (${drift.title})`, driftRows(drift)),
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
