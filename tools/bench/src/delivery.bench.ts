import { deliveryRows, runDelivery } from './delivery';
import { table } from './stats';

// npm run bench:delivery (BENCH_CHANGES, BENCH_LISTS, BENCH_ITERABLE_LIMIT, BENCH_CLIENT_LIMIT, BENCH_LONE_CHANGES, BENCH_AGAIN_ROUNDS, BENCH_DB)
const options = {
  changes: Number(process.env['BENCH_CHANGES'] ?? 100_000),
  lists: Number(process.env['BENCH_LISTS'] ?? 10),
  iterableLimit: Number(process.env['BENCH_ITERABLE_LIMIT'] ?? 20),
  ...(process.env['BENCH_CLIENT_LIMIT'] ? { clientLimit: Number(process.env['BENCH_CLIENT_LIMIT']) } : {}),
  loneChanges: Number(process.env['BENCH_LONE_CHANGES'] ?? 20),
  againRounds: Number(process.env['BENCH_AGAIN_ROUNDS'] ?? 3),
  driver: (process.env['BENCH_DB'] ?? 'postgres') as 'postgres' | 'sqlite',
};

runDelivery(options).then(
  (f) => process.stdout.write(table(`delivery benchmark (${f.title})`, deliveryRows(f, options.changes, options.iterableLimit)) + '\n'),
  (error: unknown) => {
    process.stderr.write(`bench:delivery failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
