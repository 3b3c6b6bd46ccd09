import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { createDataSource } from '../data-source';
import { Database } from '../database';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { CreatedListsRepository } from './created-lists.repository';

describe.each(DRIVERS)('created lists (the claim table of issue 22 §3) on %s', (driver) => {
  let dataSource: DataSource;
  let second: DataSource;
  let database: TestDatabase;
  let lists: CreatedListsRepository;
  /** The same table seen through a second connection pool, as another API process sees it. */
  let otherProcess: CreatedListsRepository;
  const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
  const stale = { staleAfterMs: 30_000 };
  let n = 0;
  const project = () => lists.projectOf(`key-${++n}-${randomBytes(8).toString('hex')}`, 'US');

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    second = createDataSource(database.url);
    await second.initialize();
    lists = new CreatedListsRepository(new Database(dataSource), cipher);
    otherProcess = new CreatedListsRepository(new Database(second), cipher);
  });
  afterAll(async () => {
    await second.destroy();
    await dataSource.destroy();
    await database.drop();
  });

  it('names a project by a keyed hash of key and data center, never the key', () => {
    const key = 'b3e8c2d0a1f94e6b8c7d5a4f3e2d1c0b';
    expect(lists.projectOf(key, 'US')).toMatch(/^[0-9a-f]{64}$/);
    expect(lists.projectOf(key, 'US')).not.toContain(key);
    expect(lists.projectOf(key, 'US')).not.toBe(lists.projectOf(key, 'EU'));
    expect(lists.projectOf(key, 'US')).toBe(otherProcess.projectOf(key, 'US'));
  });

  it('lets exactly one of many concurrent claimers (two processes) hold a name; the others see it pending, then ready', async () => {
    const p = project();
    const owner = { accountId: 1, audienceId: 10 };
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? otherProcess : lists).claim(p, 'VIP', owner, stale)));
    const held = claims.filter((c) => c.kind === 'held');
    expect(held).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'pending')).toHaveLength(9);
    const holder = held[0]?.kind === 'held' ? held[0].holder : '';
    expect(await lists.settle(p, 'VIP', holder, 500, owner)).toBe(true);
    expect(await otherProcess.claim(p, 'VIP', owner, stale)).toEqual({ kind: 'ready', listId: 500, owner });
    // One name per project: the same name in another project is another claim.
    expect((await lists.claim(project(), 'VIP', owner, stale)).kind).toBe('held');
  });

  it('takes over a claim whose holder died (no list after staleAfterMs); the old holder can no longer settle it', async () => {
    const p = project();
    const owner = { accountId: 1, audienceId: 11 };
    const first = await lists.claim(p, 'Churn', owner, { staleAfterMs: 1000, nowMs: 10_000 });
    expect(first.kind).toBe('held');
    expect((await otherProcess.claim(p, 'Churn', owner, { staleAfterMs: 1000, nowMs: 10_500 })).kind).toBe('pending');
    const second = await otherProcess.claim(p, 'Churn', { accountId: 2, audienceId: 11 }, { staleAfterMs: 1000, nowMs: 11_001 });
    expect(second.kind).toBe('held');
    expect(await lists.settle(p, 'Churn', first.kind === 'held' ? first.holder : '', 1, owner)).toBe(false);
    expect(await otherProcess.settle(p, 'Churn', second.kind === 'held' ? second.holder : '', 2, { accountId: 2, audienceId: 11 })).toBe(true);
    expect(await lists.claim(p, 'Churn', owner, stale)).toEqual({ kind: 'ready', listId: 2, owner: { accountId: 2, audienceId: 11 } });
  });

  it('frees a released claim and a forgotten list for the next claimer', async () => {
    const p = project();
    const owner = { accountId: 1, audienceId: 12 };
    const first = await lists.claim(p, 'Late', owner, stale);
    await lists.release(p, 'Late', first.kind === 'held' ? first.holder : '');
    const second = await lists.claim(p, 'Late', owner, stale);
    expect(second.kind).toBe('held');
    await lists.settle(p, 'Late', second.kind === 'held' ? second.holder : '', 77, owner);
    await lists.forgetList(77);
    expect((await lists.claim(p, 'Late', owner, stale)).kind).toBe('held');
  });

  it('says which other connections feed a list: mapped and not removed, or made for one not recorded yet; adopt moves a name', async () => {
    const p = project();
    const q = (sql: string, params: unknown[] = []) => new Database(dataSource).query(sql, params);
    const t = new Date().toISOString().replace('T', ' ').replace('Z', '');
    await q(
      `INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id, status, created_at, updated_at) VALUES
        (5, 1, 'a', 900, 'active', ?, ?), (5, 2, 'b', 900, 'removed', ?, ?), (6, 1, 'c', 900, 'suspended', ?, ?), (7, 3, 'moved', 901, 'active', ?, ?)`,
      Array(8).fill(t),
    );
    const claimed = async (name: string, owner: { accountId: number; audienceId: number }, listId: number) => {
      const c = await lists.claim(p, name, owner, stale);
      await lists.settle(p, name, c.kind === 'held' ? c.holder : '', listId, owner);
    };
    await claimed('in flight', { accountId: 8, audienceId: 4 }, 900); // no connection row yet: feeds
    await claimed('moved away', { accountId: 7, audienceId: 3 }, 900); // its connection now feeds 901: does not
    await claimed('removed', { accountId: 5, audienceId: 2 }, 900); // removed: does not
    expect(await lists.otherFeeders(900, { accountId: 5, audienceId: 1 })).toEqual([
      { accountId: 6, audienceId: 1 },
      { accountId: 8, audienceId: 4 },
    ]);
    expect(await lists.otherFeeders(901, { accountId: 7, audienceId: 3 })).toEqual([]);
    expect(await lists.otherFeeders(902, { accountId: 7, audienceId: 3 })).toEqual([]);

    expect(await lists.adopt(p, 'removed', 900, { accountId: 9, audienceId: 9 }, { accountId: 5, audienceId: 1 })).toBe(false);
    expect(await lists.adopt(p, 'removed', 900, { accountId: 5, audienceId: 2 }, { accountId: 5, audienceId: 1 })).toBe(true);
    expect(await lists.claim(p, 'removed', { accountId: 5, audienceId: 1 }, stale)).toEqual({
      kind: 'ready',
      listId: 900,
      owner: { accountId: 5, audienceId: 1 },
    });
  });

  it('finds the list already made for a connection under any of its names, in the order of the names', async () => {
    const p = project();
    const owner = { accountId: 3, audienceId: 30 };
    expect(await lists.readyFor(p, owner, ['A', 'A (30)'])).toBeUndefined();
    const c = await lists.claim(p, 'A (30)', owner, stale);
    expect(await lists.readyFor(p, owner, ['A', 'A (30)'])).toBeUndefined(); // claimed, no list yet
    await lists.settle(p, 'A (30)', c.kind === 'held' ? c.holder : '', 301, owner);
    expect(await lists.readyFor(p, owner, ['A', 'A (30)'])).toEqual({ listId: 301, name: 'A (30)' });
    expect(await lists.readyFor(p, { accountId: 3, audienceId: 31 }, ['A', 'A (30)'])).toBeUndefined();
    expect(await lists.readyFor(project(), owner, ['A', 'A (30)'])).toBeUndefined();
    expect(await lists.readyFor(p, owner, [])).toBeUndefined();
  });
});
