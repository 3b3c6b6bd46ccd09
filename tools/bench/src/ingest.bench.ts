import { ingestRows, runFloor, runIngest } from './ingest';
import { table } from './stats';

// npm run bench:ingest (BENCH_SENDERS, BENCH_PROFILES, BENCH_SECONDS, API_PROCESSES, BENCH_WORKER=0, BENCH_ITERABLE_LIMIT, BENCH_DB,
// BENCH_HOT_USERS: that many users moving in and out of 2 audiences; BENCH_FLOOR=1: the floor server instead of the API,
// BENCH_FLOOR=durable: the floor that also remembers message ids and appends inbox rows; INGEST_GROUPS_IN_FLIGHT goes to the API)
const options = {
  senders: Number(process.env['BENCH_SENDERS'] ?? 16),
  profiles: Number(process.env['BENCH_PROFILES'] ?? 50),
  seconds: Number(process.env['BENCH_SECONDS'] ?? 20),
  apiProcesses: Number(process.env['API_PROCESSES'] ?? 2),
  withWorker: process.env['BENCH_WORKER'] !== '0',
  iterableLimit: Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20),
  driver: (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite',
  ...(process.env['BENCH_HOT_USERS'] ? { hotUsers: Number(process.env['BENCH_HOT_USERS']) } : {}),
};

const floor = process.env['BENCH_FLOOR'];
(floor === '1' || floor === 'durable' ? runFloor(options, floor === 'durable' ? 'durable' : 'minimal') : runIngest(options)).then(
  (f) => process.stdout.write(table(`ingest benchmark (${f.title})`, ingestRows(f)) + '\n'),
  (error: unknown) => {
    process.stderr.write(`bench:ingest failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
