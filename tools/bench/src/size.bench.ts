import { cpus, totalmem } from 'node:os';
import { runSize, sizeReport } from './size';
import { fmt } from './stats';

// npm run bench:size: a real customer's size on PostgreSQL against an empty database, side by side.
// BENCH_SIZE_MEMBERSHIPS (10,000,000), BENCH_SIZE_VERDICTS (50,000,000), BENCH_SIZE_SECONDS (10 s of each ingest shape),
// BENCH_SIZE_BACKLOG (inbox rows waiting while the reads of what waits are measured again: half the memberships).
async function main(): Promise<void> {
  const memberships = Number(process.env['BENCH_SIZE_MEMBERSHIPS'] ?? 10_000_000);
  const verdicts = Number(process.env['BENCH_SIZE_VERDICTS'] ?? 50_000_000);
  const options = {
    memberships,
    verdicts,
    verdictsPerCall: 100,
    messages: Math.round(verdicts / 10),
    attributes: Math.round(memberships / 5),
    days: 30,
    ingestSeconds: Number(process.env['BENCH_SIZE_SECONDS'] ?? 10),
    backlog: Number(process.env['BENCH_SIZE_BACKLOG'] ?? Math.floor(memberships / 2)),
  };
  process.stdout.write(
    `machine: ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}; PostgreSQL; every process on this machine\n` +
      `size: ${memberships.toLocaleString('en')} memberships over 20 accounts and 200 audiences ` +
      `(one of ${Math.floor(memberships / 2).toLocaleString('en')}), ` +
      `${verdicts.toLocaleString('en')} verdicts over 31 days, ${Math.round(memberships / 5).toLocaleString('en')} user attributes\n`,
  );
  process.stdout.write('the empty database:\n');
  const empty = await runSize(options, true);
  process.stdout.write('the loaded database:\n');
  const loaded = await runSize(options, false);
  process.stdout.write(sizeReport(empty, loaded) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:size failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
