import { driftRows, runDrift } from './drift';
import { table } from './stats';

// npm run bench:drift (BENCH_DRIFT_MEMBERS, BENCH_DRIFT_DIFFERENCES, BENCH_DB)
const options = {
  members: Number(process.env['BENCH_DRIFT_MEMBERS'] ?? 1_000_000),
  differences: Number(process.env['BENCH_DRIFT_DIFFERENCES'] ?? 1000),
  driver: (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite',
};

runDrift(options).then(
  (f) => process.stdout.write(table(`drift check (${f.title})`, driftRows(f)) + '\n'),
  (error: unknown) => {
    process.stderr.write(`bench:drift failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
