import { performance } from 'node:perf_hooks';
import { Database, DeliveryRepository, ListLeasesRepository, OperationsRepository } from '@audience-bridge/persistence';
import { createMigratedDataSource } from '@audience-bridge/persistence/testing';
import { fmt, table } from './stats';

// npm run bench:peak (BENCH_PEAK_CALLS, 1,000,000): the console's busiest second of a day of calls on PostgreSQL, read
// from the kept seconds and quarter-hour peaks (call_seconds, call_peaks) against grouping the day's calls by second.
async function main(): Promise<void> {
  const calls = Number(process.env['BENCH_PEAK_CALLS'] ?? 1_000_000);
  const { dataSource, database } = await createMigratedDataSource('postgres');
  try {
    const db = new Database(dataSource);
    const now = Date.now();
    // 20 accounts' calls spread over the last 24 h, inserted 10,000 at a time (the insert triggers count them).
    let started = performance.now();
    for (let done = 0; done < calls; done += 10_000) {
      await dataSource.query(
        `INSERT INTO delivery_calls (id, account_id, list_id, action, subscriber_count, http_status, success_count, failure_count, duration_ms, error,
                                     dry_run, created_at_ms)
         SELECT gen_random_uuid(), 1 + n % 20, 100 + n % 20, 'subscribe', 50, 200, 50, 0, 10, NULL, false,
                ${now} - 86400000 + (n * 86400000::bigint / ${calls})
         FROM generate_series(${done}, ${Math.min(calls, done + 10_000) - 1}) n`,
      );
    }
    const loadSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await new DeliveryRepository(db, new ListLeasesRepository(db)).foldCounts();
    const foldSeconds = (performance.now() - started) / 1000;
    await dataSource.query('VACUUM ANALYZE');
    const since = now - 86_400_000;
    const timed = async (read: () => Promise<number>): Promise<{ ms: number[]; peak: number }> => {
      const ms: number[] = [];
      let peak = 0;
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        peak = await read();
        ms.push(performance.now() - t);
      }
      return { ms: ms.sort((a, b) => a - b), peak };
    };
    const grouped = await timed(async () => {
      const [row] = await dataSource.query(
        `SELECT COUNT(*) AS n FROM delivery_calls WHERE NOT dry_run AND created_at_ms >= $1
         GROUP BY account_id, created_at_ms - created_at_ms % 1000 ORDER BY n DESC LIMIT 1`,
        [since],
      );
      return Number(row?.n ?? 0);
    });
    const ops = new OperationsRepository(db);
    const kept = await timed(async () => (await ops.callRate(since, now)).peakPerSecond);
    const sizes: { relname: string; bytes: string }[] = await dataSource.query(
      `SELECT relname, pg_total_relation_size(oid) AS bytes FROM pg_class WHERE relname IN ('delivery_calls', 'call_seconds', 'call_peaks') ORDER BY relname`,
    );
    const range = (ms: number[]) => `${fmt(ms[0] ?? 0, 0)} / ${fmt(ms[3] ?? 0, 0)} / ${fmt(ms[6] ?? 0, 0)} ms`;
    process.stdout.write(
      table(`the busiest second of a day of ${calls.toLocaleString('en')} calls (PostgreSQL; 7 reads: fastest / median / slowest)`, [
        ['loaded, s (the insert triggers counting)', fmt(loadSeconds, 1)],
        ['folded by the sweeper, s', fmt(foldSeconds, 1)],
        ['grouping the day of delivery_calls by second', `${range(grouped.ms)}, peak ${grouped.peak}`],
        ['kept seconds and quarter-hour peaks (/v1/summary)', `${range(kept.ms)}, peak ${kept.peak}`],
        ...sizes.map((s): [string, string] => [`${s.relname}, MiB`, fmt(Number(s.bytes) / 2 ** 20, 1)]),
      ]) + '\n',
    );
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:peak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
