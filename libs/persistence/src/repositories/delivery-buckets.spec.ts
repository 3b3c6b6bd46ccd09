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

/** `history`'s calls bunched into `seconds` random whole seconds of [from, to): several calls of an account in one second. */
function bursts(seed: number, count: number, from: number, to: number, seconds = 30): Recorded[] {
  const next = random(seed + 1000);
  const hot = Array.from({ length: seconds }, () => Math.floor((from + next() * (to - from - 1000)) / 1000) * 1000);
  return history(seed, count, from, to).map((r) => ({
    ...r,
    call: { ...r.call, createdAtMs: (hot[Math.floor(next() * hot.length)] as number) + Math.floor(next() * 1000) },
  }));
}

/** The busiest calendar second from `sinceMs` (whole seconds from it), counted from what was recorded: its calls and the accounts that made as many. */
function expectedPeak(recorded: Recorded[], sinceMs: number): { calls: number; accounts: number[] } {
  const since = Math.ceil(sinceMs / 1000) * 1000;
  const perSecond = new Map<string, number>();
  for (const { call } of recorded) {
    if (call.dryRun || call.createdAtMs < since) continue;
    const key = `${call.accountId}|${Math.floor(call.createdAtMs / 1000)}`;
    perSecond.set(key, (perSecond.get(key) ?? 0) + 1);
  }
  const calls = Math.max(0, ...perSecond.values());
  const accounts = [...new Set([...perSecond].filter(([, n]) => n === calls).map(([key]) => Number(key.split('|')[0])))];
  return { calls, accounts: calls === 0 ? [] : accounts.sort() };
}

/** The busiest second `/v1/summary` shows (`rate.peakPerSecond`), as `expectedPeak` says it, the account being one of those. */
async function peakShown(ops: OperationsRepository, sinceMs: number, expected: { accounts: number[] }): Promise<{ calls: number; accounts: number[] }> {
  const rate = await ops.callRate(sinceMs);
  const account = rate.peakAccountId;
  return { calls: rate.peakPerSecond, accounts: account === null ? [] : expected.accounts.includes(account) ? expected.accounts : [account] };
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
    expect(await peakShown(ops, now - DAY, { accounts: [] })).toEqual({ calls: 0, accounts: [] });
  });

  // The busiest second of the console's window (`rate.peakPerSecond`) reads the kept seconds and quarter-hour peaks
  // (`call_seconds`, `call_peaks`) instead of grouping the window's calls by second.
  it('show the busiest second exactly, folded or not, from any start', async () => {
    const now = bucketOf(Date.now()) + 450_000;
    const recorded = bursts(11, 600, now - 26 * HOUR, now);
    await Promise.all([record(recorded), foldDeliveryBuckets(db), foldDeliveryBuckets(db)]);
    const peak = expectedPeak(recorded, now - DAY);
    expect(peak.calls).toBeGreaterThan(3);
    // The busiest second itself, as a start: from it (included), from a millisecond after it (excluded), and quarter
    // hours around it, on a boundary and off it.
    const busiest = recorded
      .filter((r) => !r.call.dryRun && r.call.createdAtMs >= now - DAY)
      .map((r) => Math.floor(r.call.createdAtMs / 1000) * 1000)
      .find((second) => expectedPeak(recorded, second).calls === peak.calls && expectedPeak(recorded, second + 1).calls < peak.calls) as number;
    const starts = [now - DAY, now - HOUR, busiest, busiest + 1, bucketOf(busiest), bucketOf(busiest) + DELIVERY_BUCKET_MS, bucketOf(busiest) - 1, now];
    for (const since of starts) expect(await peakShown(ops, since, expectedPeak(recorded, since))).toEqual(expectedPeak(recorded, since));
    await foldDeliveryBuckets(db);
    expect(await foldDeliveryBuckets(db)).toBe(0);
    for (const since of starts) expect(await peakShown(ops, since, expectedPeak(recorded, since))).toEqual(expectedPeak(recorded, since));
  });

  it('count a second whose calls are folded in parts, and drop seconds older than two days', async () => {
    const second = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
    const call = (i: number, accountId: number, at: number, dryRun = false): Recorded => {
      const [r] = history(20 + i, 1, at, at + 1);
      if (!r) throw new Error('no call');
      return { call: { ...r.call, accountId, createdAtMs: at, dryRun }, verdicts: [] };
    };
    const first = [0, 1, 2].map((i) => call(i, 1, second + i * 100));
    await record(first);
    await foldDeliveryBuckets(db);
    // Two more in the same second: shown before they are folded, and after (the quarter hour's peak raised to 5).
    await record([call(3, 1, second + 500), call(4, 1, second + 999)]);
    expect(await peakShown(ops, second - HOUR, { accounts: [1] })).toEqual({ calls: 5, accounts: [1] });
    await foldDeliveryBuckets(db);
    expect(await peakShown(ops, second - HOUR, { accounts: [1] })).toEqual({ calls: 5, accounts: [1] });
    // Four of another account in the next second, not folded; dry runs count for nothing.
    await record([...[5, 6, 7, 8].map((i) => call(i, 2, second + 1000 + i)), call(9, 2, second + 1500, true)]);
    expect(await peakShown(ops, second - HOUR, { accounts: [1] })).toEqual({ calls: 5, accounts: [1] });
    await record([10, 11].map((i) => call(i, 2, second + 1000 + i)));
    expect(await peakShown(ops, second - HOUR, { accounts: [2] })).toEqual({ calls: 6, accounts: [2] });
    await foldDeliveryBuckets(db);
    expect(await peakShown(ops, second - HOUR, { accounts: [2] })).toEqual({ calls: 6, accounts: [2] });
    // From the next second on, account 2's second is the busiest; from after it, nothing.
    expect(await peakShown(ops, second + 1, { accounts: [2] })).toEqual({ calls: 6, accounts: [2] });
    expect(await peakShown(ops, second + 1001, { accounts: [] })).toEqual({ calls: 0, accounts: [] });
    // Three days ago: pruned with the retention prune even when the audit is kept 30 days.
    await record([12, 13].map((i) => call(i, 1, second - 3 * DAY)));
    const kept = async () =>
      Number((await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM call_seconds WHERE second_ms < ?`, [second - 2 * DAY]))[0]?.n);
    await foldDeliveryBuckets(db);
    expect(await kept()).toBe(1);
    await new AuditRepository(db).prune(second - 30 * DAY);
    expect(await kept()).toBe(0);
    expect(await peakShown(ops, second - HOUR, { accounts: [2] })).toEqual({ calls: 6, accounts: [2] });
  });

  it('start from the last two days of calls per second when their migration runs', async () => {
    await undoMigrationsThrough(dataSource, 'CallSeconds1797002100000');
    const now = Date.now();
    const recorded = bursts(12, 300, now - DAY, now);
    await record(recorded);
    await record(bursts(13, 40, now - 3 * DAY, now - 3 * DAY + HOUR, 2));
    await dataSource.runMigrations();
    expect(await peakShown(ops, now - DAY, expectedPeak(recorded, now - DAY))).toEqual(expectedPeak(recorded, now - DAY));
    // Three days ago is not filled; and what is recorded after the migration counts.
    expect(await peakShown(ops, now - 4 * DAY, expectedPeak(recorded, now - DAY))).toEqual(expectedPeak(recorded, now - DAY));
    const more = bursts(14, 200, now - HOUR, now, 5);
    await record(more);
    const all = [...recorded, ...more];
    expect(await peakShown(ops, now - DAY, expectedPeak(all, now - DAY))).toEqual(expectedPeak(all, now - DAY));
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
