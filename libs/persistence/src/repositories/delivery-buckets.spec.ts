import { DataSource } from 'typeorm';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase, undoMigrationsThrough } from '../testing/test-database';
import { AuditRepository } from './audit.repository';
import { insertCallAndVerdicts, type CallRow, type VerdictRow } from './audit-rows';
import { bucketOf, DELIVERY_BUCKET_MS, foldDeliveryBuckets } from './delivery-buckets';
import { OperationsRepository, SUMMARY_WINDOWS } from './operations.repository';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A small seeded generator (mulberry32): the same history on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Recorded {
  call: CallRow;
  verdicts: VerdictRow[];
}

/** Connections: account 1 and 2, audience 10 → list 100 and audience 11 → list 200. */
const LIST_OF_AUDIENCE: Record<number, number> = { 10: 100, 11: 200 };

/** `count` calls spread over [from, to), each with up to six verdicts of every kind (some become compact rows). */
function history(seed: number, count: number, from: number, to: number): Recorded[] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const accountId = pick([1, 2]);
    const audienceId = pick([10, 11]);
    const subscribe = next() < 0.7;
    const verdicts = Array.from({ length: Math.floor(next() * 7) }, (_, j): VerdictRow => {
      const outcome = pick(['delivered', 'delivered', 'delivered', 'failed', 'skipped'] as const);
      return {
        accountId,
        audienceId,
        userKey: `u${i}-${j}`,
        mpid: `${1000 + i * 10 + j}`,
        action: subscribe ? 'add' : 'delete',
        email: `u${i}-${j}@example.com`,
        userId: null,
        outcome,
        reason: outcome === 'delivered' ? pick([null, null, null, 'sent by userId']) : 'invalidEmail',
        retryable: next() < 0.2,
      };
    });
    const httpStatus = pick([200, 200, 200, 429, 503, null]);
    const call: CallRow = {
      id: `00000000-0000-4000-8000-${String(seed * 100_000 + i).padStart(12, '0')}`,
      accountId,
      listId: LIST_OF_AUDIENCE[audienceId] as number,
      action: subscribe ? 'subscribe' : 'unsubscribe',
      subscriberCount: verdicts.length,
      httpStatus,
      successCount: httpStatus === 200 ? Math.floor(next() * 50) : 0,
      failureCount: 0,
      durationMs: 10,
      error: null,
      dryRun: next() < 0.1,
      createdAtMs: Math.floor(from + next() * (to - from)),
    };
    return { call, verdicts };
  });
}

/** What the day summary shows, counted from what was recorded (the oracle). */
function expectedDay(recorded: Recorded[], now: number) {
  const { bucketMs, buckets } = SUMMARY_WINDOWS.day;
  const to = Math.ceil((now + 1) / bucketMs) * bucketMs;
  const from = to - buckets * bucketMs;
  const totals = { adds: 0, removes: 0, failed: 0, calls: 0, failedCalls: 0, dryRunCalls: 0 };
  const perBucket = Array.from({ length: buckets }, () => ({ ...totals }));
  for (const { call, verdicts } of recorded) {
    if (call.createdAtMs < from || call.createdAtMs >= to) continue;
    const b = perBucket[Math.floor((call.createdAtMs - from) / bucketMs)] as typeof totals;
    if (call.dryRun) b.dryRunCalls++;
    else {
      b.calls++;
      if (call.httpStatus !== 200) b.failedCalls++;
      if (call.action === 'subscribe') b.adds += call.successCount;
      else b.removes += call.successCount;
    }
    b.failed += verdicts.filter((v) => v.outcome === 'failed' && !v.retryable).length;
  }
  return perBucket;
}

/** What `/v1/connections` shows for each connection's last 24 h, counted from what was recorded. */
function expectedLast24h(recorded: Recorded[], now: number) {
  const out: Record<string, { adds: number; removes: number; failed: number }> = {};
  for (const account of [1, 2]) for (const audience of [10, 11]) out[`${account}|${audience}`] = { adds: 0, removes: 0, failed: 0 };
  for (const { call, verdicts } of recorded) {
    if (call.createdAtMs < now - DAY) continue;
    for (const v of verdicts) {
      const o = out[`${v.accountId}|${v.audienceId}`] as { adds: number; removes: number; failed: number };
      if (v.outcome === 'delivered' && v.action === 'add') o.adds++;
      if (v.outcome === 'delivered' && v.action === 'delete') o.removes++;
      if (v.outcome === 'failed' && !v.retryable) o.failed++;
    }
  }
  return out;
}

async function shown(ops: OperationsRepository, now: number) {
  const summary = await ops.summary('day', now);
  const connections = await ops.connections(now);
  return {
    day: summary.buckets.map(({ start: _start, ...figures }) => figures),
    last24h: Object.fromEntries(connections.map((c) => [`${c.accountId}|${c.audienceId}`, c.last24h])),
  };
}

// The console's day of traffic (`/v1/summary?window=day`) and each connection's last 24 h (`/v1/connections`) read
// the quarter hours' kept figures (`call_buckets`, `outcome_buckets`) instead of a day of audit, which grows with traffic.
describe.each(DRIVERS)('delivery buckets on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  let ops: OperationsRepository;

  beforeEach(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
    ops = new OperationsRepository(db);
    await db.execute(
      `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) ` +
        `VALUES (1, 10, 'a', 100), (1, 11, 'b', 200), (2, 10, 'c', 100), (2, 11, 'd', 200)`,
    );
  });
  afterEach(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const record = (recorded: Recorded[]) =>
    Promise.all(
      // Four settlements at a time, as several lists' workers would (PostgreSQL: concurrent statement triggers).
      [0, 1, 2, 3].map(async (lane) => {
        for (const [i, r] of recorded.entries()) if (i % 4 === lane) await db.transaction((manager) => insertCallAndVerdicts(db, manager, r.call, r.verdicts));
      }),
    );

  it('show exactly what counting the audit shows, folded or not, at any time of the quarter hour', async () => {
    // Now falls 7.5 minutes into a quarter hour: the 24 h window starts mid-bucket.
    const now = bucketOf(Date.now()) + 450_000;
    const recorded = history(1, 600, now - 26 * HOUR, now + 1);
    await Promise.all([record(recorded), foldDeliveryBuckets(db), foldDeliveryBuckets(db)]);
    const expected = { day: expectedDay(recorded, now), last24h: expectedLast24h(recorded, now) };
    expect(expected.day.some((b) => b.calls > 0 && b.failed > 0)).toBe(true);
    expect(await shown(ops, now)).toEqual(expected);
    await foldDeliveryBuckets(db);
    expect(await shown(ops, now)).toEqual(expected);
    expect(await foldDeliveryBuckets(db)).toBe(0);
    // Later, with the window's start on a bucket boundary and off it.
    for (const later of [now + 450_000, now + 450_001, now + 3 * HOUR + 17]) {
      expect(await shown(ops, later)).toEqual({ day: expectedDay(recorded, later), last24h: expectedLast24h(recorded, later) });
    }
  });

  it('keep the figures of what happened when an erasure edits the audit, and drop whole buckets past retention', async () => {
    const now = bucketOf(Date.now());
    const recorded = history(2, 200, now - 26 * HOUR, now);
    await record(recorded);
    await foldDeliveryBuckets(db);
    const before = await shown(ops, now);
    expect(before.day.reduce((n, b) => n + b.calls, 0)).toBeGreaterThan(50);
    // An erasure forgets users' verdicts and takes their keys out of compact rows; the day's figures do not read those.
    await db.execute(`DELETE FROM delivery_verdicts`);
    await db.execute(`UPDATE delivery_successes SET n = 0, user_keys = '[]'`);
    expect(await shown(ops, now)).toEqual(before);
    // The retention prune drops the buckets wholly before its cutoff (folded or not) and keeps the rest.
    const cutoff = now - 25 * HOUR - 1;
    const older = async () => {
      const [row] = await db.query<{ n: string | number }>(
        `SELECT COUNT(*) AS n FROM (SELECT bucket_ms FROM call_buckets UNION ALL SELECT bucket_ms FROM outcome_buckets
           UNION ALL SELECT bucket_ms FROM call_bucket_changes UNION ALL SELECT bucket_ms FROM outcome_bucket_changes) x WHERE bucket_ms < ?`,
        [bucketOf(cutoff)],
      );
      return Number(row?.n);
    };
    await record(history(7, 10, now - 26 * HOUR, now - 25 * HOUR - DELIVERY_BUCKET_MS));
    expect(await older()).toBeGreaterThan(0);
    await new AuditRepository(db).prune(cutoff);
    expect(await older()).toBe(0);
    expect(await shown(ops, now)).toEqual(before);
  });

  it('count nothing of a settlement rolled back', async () => {
    const now = Date.now();
    const [r] = history(3, 1, now - HOUR, now);
    if (!r) throw new Error('no call');
    r.call.httpStatus = 200;
    await expect(
      db.transaction(async (manager) => {
        await insertCallAndVerdicts(db, manager, r.call, r.verdicts);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await shown(ops, now)).toEqual({ day: expectedDay([], now), last24h: expectedLast24h([], now) });
  });

  it('start from the last two days of audit when the migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'DeliveryBuckets1797001900000');
    const now = Date.now();
    const recorded = history(4, 300, now - 2 * DAY + DELIVERY_BUCKET_MS, now);
    await record(recorded);
    // Three days ago: outside the fill, and outside every window that reads the buckets.
    await record(history(5, 20, now - 3 * DAY, now - 3 * DAY + HOUR));
    await dataSource.runMigrations();
    expect(await shown(ops, now)).toEqual({ day: expectedDay(recorded, now), last24h: expectedLast24h(recorded, now) });
    const [old] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM call_buckets WHERE bucket_ms < ?`, [now - 2 * DAY]);
    expect(Number(old?.n)).toBe(0);
    // And counts what is recorded after it.
    const more = history(6, 50, now - HOUR, now);
    await record(more);
    expect(await shown(ops, now)).toEqual({ day: expectedDay([...recorded, ...more], now), last24h: expectedLast24h([...recorded, ...more], now) });
  });
});
