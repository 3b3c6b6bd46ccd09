import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase, undoMigrationsThrough } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { callCounts, foldCallCounts } from './call-counts';

/** What `/v1/stats` answered before the counts were kept: every call kept, counted. */
async function counted(db: Database): Promise<{ calls: number; failedCalls: number; rateLimited: number }> {
  const [row] = await db.query<{ n: number | string; f: number | string | null; r: number | string | null }>(
    `SELECT COUNT(*) AS n, SUM(CASE WHEN dry_run = ? AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END) AS f,
            SUM(CASE WHEN http_status = 429 THEN 1 ELSE 0 END) AS r FROM delivery_calls`,
    [false],
  );
  return { calls: Number(row?.n ?? 0), failedCalls: Number(row?.f ?? 0), rateLimited: Number(row?.r ?? 0) };
}

/** A call as delivery records it: `[account, http status or null (no answer), dry run, created at]`. */
type Call = [number, number | null, boolean, number];

function record(db: Database, calls: Call[], manager?: Parameters<Database['query']>[2]) {
  return db.insertRows(
    'delivery_calls',
    [
      { name: 'id', type: 'text' },
      { name: 'account_id', type: 'bigint' },
      { name: 'list_id', type: 'bigint' },
      { name: 'action', type: 'text' },
      { name: 'subscriber_count', type: 'integer' },
      { name: 'http_status', type: 'integer' },
      { name: 'success_count', type: 'integer' },
      { name: 'failure_count', type: 'integer' },
      { name: 'duration_ms', type: 'integer' },
      { name: 'dry_run', type: 'boolean' },
      { name: 'created_at_ms', type: 'bigint' },
    ],
    calls.map(([account, status, dryRun, at]) => {
      const ok = status === 200;
      return [randomUUID(), account, 10 * account, 'subscribe', 1, status, ok ? 1 : 0, ok ? 0 : 1, 5, dryRun, at];
    }),
    '',
    manager,
  );
}

describe.each(DRIVERS)('Iterable call counts kept by the database on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;

  beforeEach(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
  });
  afterEach(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('equal counting every call after calls of every kind and the retention prune, folded or not', async () => {
    await record(db, [
      [1, 200, false, 1000],
      [1, 429, false, 1000],
      [1, 503, false, 2000],
      [2, null, false, 2000],
      [2, null, true, 3000],
      [2, 200, false, 3000],
    ]);
    expect(await callCounts(db)).toEqual({ calls: 6, failedCalls: 3, rateLimited: 1 });
    await foldCallCounts(db);
    expect(await callCounts(db)).toEqual(await counted(db));
    await record(db, [[3, 400, false, 4000]]);
    expect(await callCounts(db)).toEqual({ calls: 7, failedCalls: 4, rateLimited: 1 });
    // The prune of everything before 2500: four calls, one of them a 429.
    await new AuditRepository(db).prune(2500);
    expect(await callCounts(db)).toEqual({ calls: 3, failedCalls: 1, rateLimited: 0 });
    expect(await callCounts(db)).toEqual(await counted(db));
    await foldCallCounts(db);
    expect(await callCounts(db)).toEqual(await counted(db));
    expect(await foldCallCounts(db)).toBe(0);
  });

  it('count nothing of a transaction rolled back', async () => {
    await expect(
      db.transaction(async (manager) => {
        await record(db, [[1, 500, false, 1000]], manager);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await callCounts(db)).toEqual({ calls: 0, failedCalls: 0, rateLimited: 0 });
  });

  it('start from the calls already there when the migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'CallCounts1797001600000');
    await record(db, [
      [1, 200, false, 1000],
      [1, 429, false, 1000],
      [2, null, true, 1000],
    ]);
    await dataSource.runMigrations();
    expect(await callCounts(db)).toEqual({ calls: 3, failedCalls: 1, rateLimited: 1 });
    await record(db, [[2, 502, false, 2000]]);
    expect(await callCounts(db)).toEqual(await counted(db));
  });
});

const STATUSES = [200, 429, 503, null, 200];

describe('call counts under concurrent delivery on postgres', () => {
  it('add up exactly when accounts record calls in parallel transactions while the counts are folded', async () => {
    const { dataSource, database } = await createMigratedDataSource('postgres');
    const db = new Database(dataSource);
    try {
      const worker = async (account: number) => {
        for (let round = 0; round < 30; round++)
          await db.transaction((manager) => {
            const calls = Array.from({ length: 5 }, (_, i): Call => [account, STATUSES[(round + i) % 5] ?? null, i === 3, round]);
            return record(db, calls, manager);
          });
      };
      let folding = true;
      const folder = (async () => {
        while (folding) await foldCallCounts(db);
      })();
      await Promise.all([worker(1), worker(2), worker(1), worker(3)]);
      folding = false;
      await folder;
      expect(await callCounts(db)).toEqual(await counted(db));
      expect(db.contention.deadlocks).toBe(0);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
