import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from '../crypto/api-key-cipher';
import { Database } from '../database';
import { tableReads } from '../testing/table-reads';
import { createMigratedDataSource, DRIVERS, TestDatabase } from '../testing/test-database';
import { attributeSubjectKeys, ErasureRepository } from './erasure.repository';

// An erased subject stays erased (README "Erasure"): what is kept of them is a keyed hash per identifier and the
// erasure's time; a change stamped at or before it is dropped, one stamped after it is kept (a new consent).
describe.each(DRIVERS)('ErasureRepository tombstones on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  const key = randomBytes(32).toString('base64');
  /** The profiles here are their identifiers already. */
  const same = (identities: string[]) => identities;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const member = (accountId: number, userKey: string, email: string, customerId: string, timestampMs: number) =>
    db.execute(
      `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, user_id, source_message_id, timestamp_ms) ` +
        `VALUES (?, 1, ?, ?, 'add', ?, ?, 'm', ?)`,
      [accountId, userKey, userKey, email, customerId, timestampMs],
    );
  const connect = (accountId: number, listId: number) =>
    db.execute(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (?, 1, 'a', ?)`, [accountId, listId]);

  it('keeps only keyed hashes, drops what is stamped at or before the erasure and keeps what is newer', async () => {
    const erasures = new ErasureRepository(db, new ApiKeyCipher(key));
    await connect(1, 10);
    await member(1, '501', 'jane@example.com', 'cust-jane', 1000);
    await member(1, '502', 'bob@example.com', 'cust-bob', 1000);
    const { created, listIds } = await erasures.accept(1, 'r-1', { email: 'jane@example.com', customerId: 'cust-jane' }, 'customerId', 5000);
    expect({ created, listIds }).toEqual({ created: true, listIds: [10] });

    const tombstones = await db.query<{ identity_hash: string; erased_at_ms: string | number }>(`SELECT * FROM erasure_tombstones WHERE account_id = 1`);
    // email, customer id, and the mpid the membership had: hashes only.
    expect(tombstones).toHaveLength(3);
    // (A hash is hex: it cannot hold "jane", but may hold the digits 501 by chance, so the mpid is looked for elsewhere.)
    expect(JSON.stringify(tombstones)).not.toMatch(/jane/);
    expect(JSON.stringify(tombstones.map(({ identity_hash: _hash, ...rest }) => rest))).not.toMatch(/501/);
    expect(tombstones.every((t) => /^[0-9a-f]{64}$/.test(t.identity_hash) && Number(t.erased_at_ms) === 5000)).toBe(true);

    const jane = ['email:jane@example.com'];
    const janeByMpid = ['mpid:501'];
    const janeByCustomer = ['customer:cust-jane'];
    const bob = ['email:bob@example.com', 'customer:cust-bob', 'mpid:502'];
    expect(await erasures.erasedProfiles(1, [jane, janeByMpid, janeByCustomer, bob, []], same, 4999)).toEqual([true, true, true, false, false]);
    expect(await erasures.erasedProfiles(1, [jane], same, 5000)).toEqual([true]);
    expect(await erasures.erasedProfiles(1, [jane], same, 5001)).toEqual([false]);
    // Another account's subject of the same email is not erased.
    expect(await erasures.erasedProfiles(2, [jane], same, 1)).toEqual([false]);
    // During a key rotation (the old key as ENCRYPTION_KEY_PREVIOUS) the tombstones written before still match.
    const rotated = new ErasureRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64'), key));
    expect(await rotated.erasedProfiles(1, [jane], same, 4000)).toEqual([true]);
    expect(await new ErasureRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64'))).erasedProfiles(1, [jane], same, 4000)).toEqual([false]);

    // A second erasure of the subject, later: the newest time holds.
    await erasures.accept(1, 'r-2', { email: 'jane@example.com' }, 'customerId', 7000);
    expect(await erasures.erasedProfiles(1, [jane], same, 6000)).toEqual([true]);
    await erasures.accept(1, 'r-3', { email: 'jane@example.com' }, 'customerId', 3000);
    expect(await erasures.erasedProfiles(1, [jane], same, 6000)).toEqual([true]);
  });

  it('finds every row of the subject through an index: by email, by the email before an identity change, by key, by customer id', async () => {
    const accountId = 91;
    const erasures = new ErasureRepository(db, new ApiKeyCipher(key));
    for (const audienceId of [1, 2, 3])
      await db.execute(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (?, ?, 'a', ?)`, [
        accountId,
        audienceId,
        910 + audienceId,
      ]);
    const row = (audienceId: number, userKey: string, mpid: string | null, email: string | null, prevEmail: string | null, userId: string | null) =>
      db.execute(
        `INSERT INTO memberships (account_id, audience_id, user_key, mpid, action, email, prev_email, user_id, source_message_id, timestamp_ms) ` +
          `VALUES (?, ?, ?, ?, 'add', ?, ?, ?, 'm', 1000)`,
        [accountId, audienceId, userKey, mpid, email, prevEmail, userId],
      );
    await row(1, '701', '701', 'ann@example.com', null, 'cust-ann'); // by email
    await row(2, '702', '702', 'ann-new@example.com', 'ann@example.com', 'cust-702'); // by the email it named before
    await row(3, 'email:ann@example.com', null, null, null, null); // keyed by the email, naming no email now (skipped)
    await row(1, '703', '703', 'other@example.com', null, 'cust-ann'); // by customer id, another email
    await row(2, 'customer:cust-ann', null, 'x@example.com', null, 'cust-ann'); // keyed by the customer id
    await row(3, 'cust-ann', 'cust-ann', 'y@example.com', null, 'cust-ann'); // a customer id equal to its mpid (its key)
    await row(1, '799', '799', 'keep@example.com', 'kept@example.com', 'cust-keep'); // not the subject
    await erasures.accept(accountId, 'r-91', { email: 'ann@example.com', customerId: 'cust-ann' }, 'customerId', 5000);
    const left = await db.query<{ user_key: string }>(`SELECT user_key FROM memberships WHERE account_id = ? ORDER BY user_key`, [accountId]);
    expect(left.map((r) => r.user_key)).toEqual(['799']);
  });

  it('removes again an older change an API process stored before it saw the tombstone, and keeps a newer one', async () => {
    const accountId = 3;
    await connect(accountId, 30);
    // Process B has read "no tombstone in this account" just before process A accepts the erasure.
    const processA = new ErasureRepository(db, new ApiKeyCipher(key));
    const processB = new ErasureRepository(db, new ApiKeyCipher(key));
    const t0 = Date.now();
    expect(await processB.erasedProfiles(accountId, [['email:late@example.com']], same, 1, t0)).toEqual([false]);
    await member(accountId, '601', 'late@example.com', 'cust-late', 1000);
    await processA.accept(accountId, 'r-late', { email: 'late@example.com' }, 'customerId', 5000, t0);
    // Within its cache time B still lets an older change through (stored by ingest) …
    expect(await processB.erasedProfiles(accountId, [['email:late@example.com']], same, 4000, t0 + 500)).toEqual([false]);
    await member(accountId, '601', 'late@example.com', 'cust-late', 4000);
    await member(accountId, '602', 'late@example.com', 'cust-late', 6000);
    // … and after it, drops it.
    expect(await processB.erasedProfiles(accountId, [['email:late@example.com']], same, 4000, t0 + 1500)).toEqual([true]);

    const pending = (await processA.due(10, t0 + 10_000)).find((e) => e.accountId === accountId);
    if (!pending) throw new Error('the erasure is not pending');
    await db.execute(`DELETE FROM sync_inbox`);
    expect(await processA.purgeLate(pending)).toBe(1);
    const left = await db.query<{ user_key: string }>(`SELECT user_key FROM memberships WHERE account_id = ?`, [accountId]);
    expect(left.map((r) => r.user_key)).toEqual(['602']);
    // Its list re-plans the subject (taken off again before they are forgotten).
    expect(await db.query(`SELECT list_id, member_key FROM sync_inbox`)).toEqual([
      { list_id: driver === 'postgres' ? '30' : 30, member_key: 'late@example.com' },
    ]);
    expect(await processA.purgeLate(pending)).toBe(0);
  });
  it('takes the subject off a list their audience moved to after the erasure was accepted, and forgets their row there', async () => {
    // Found by the model checker (seed 105, two API processes): a stale process stored an older add naming the
    // audience's new list; it was delivered there, and the erasure, knowing only the lists of its acceptance,
    // neither re-planned nor cleared that list: a `subscribed` row of the subject stayed in list_members.
    const accountId = 4;
    await connect(accountId, 40);
    const erasures = new ErasureRepository(db, new ApiKeyCipher(key));
    const t0 = Date.now();
    await erasures.accept(accountId, 'r-moved', { email: 'moved@example.com' }, 'customerId', 5000, t0);
    await db.execute(`UPDATE audience_connections SET list_id = 41 WHERE account_id = ?`, [accountId]);
    await member(accountId, '701', 'moved@example.com', 'cust-moved', 4000);
    await db.execute(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) ` +
        `VALUES (41, 'moved@example.com', 'moved@example.com', 'cust-moved', 'subscribed', NULL, NULL, 1)`,
    );
    const pending = (await erasures.due(10, t0 + 10_000)).find((e) => e.accountId === accountId);
    if (!pending) throw new Error('the erasure is not pending');
    await db.execute(`DELETE FROM sync_inbox`);
    expect(await erasures.purgeLate(pending)).toBe(1);
    const inbox = await db.query<{ list_id: string | number }>(`SELECT list_id FROM sync_inbox WHERE member_key = 'moved@example.com'`);
    expect(inbox.map((r) => Number(r.list_id)).sort()).toEqual([40, 41]);
    expect(await erasures.inFlight(accountId, pending.subject)).toBe(true);
    await db.execute(`DELETE FROM sync_inbox`);
    await erasures.complete(pending.id, accountId, pending.subject, 1);
    expect(await db.query(`SELECT * FROM list_members WHERE member_key = 'moved@example.com'`)).toEqual([]);
  });
  it("forgets the subject on every list of the account's Iterable project: one another account delivers now, one it delivered last", async () => {
    // Found by the model checker (seed 501 SQLite, two accounts on one project): the subject's audiences had moved
    // off a list the other account still feeds and delivers; the erasure, knowing only its own account's lists, left
    // the subject's list_members row there and their key in that account's compact audit.
    const account = (accountId: number, fingerprint: string) =>
      db.execute(`INSERT INTO accounts (account_id, api_key_fingerprint, user_id_field, data_center) VALUES (?, ?, 'customerId', 'US')`, [
        accountId,
        fingerprint,
      ]);
    const row = (listId: number, email: string) =>
      db.execute(
        `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) ` +
          `VALUES (?, ?, ?, NULL, 'unsubscribed', NULL, NULL, 1)`,
        [listId, email, email],
      );
    await account(5, 'fp-shared-project');
    await account(6, 'fp-shared-project');
    await account(7, 'fp-another-project');
    await connect(5, 51);
    await connect(6, 50);
    await connect(7, 70);
    await db.execute(`INSERT INTO list_leases (list_id, holder, expires_at, generation, attempts, account_id) VALUES (52, NULL, 0, 1, 0, 5)`);
    for (const listId of [50, 51, 52, 70]) await row(listId, 'shared@example.com');
    await row(50, 'other@example.com');
    await db.execute(
      `INSERT INTO delivery_successes (call_id, account_id, audience_id, list_id, action, n, user_keys, created_at_ms) ` +
        `VALUES ('c-1', 6, 0, 50, 'delete', 2, ?, 1)`,
      [JSON.stringify(['email:shared@example.com', 'email:other@example.com'])],
    );
    const erasures = new ErasureRepository(db, new ApiKeyCipher(key));
    const t0 = Date.now();
    await erasures.accept(5, 'r-shared', { email: 'shared@example.com' }, 'customerId', 5000, t0);
    const pending = (await erasures.due(10, t0 + 10_000)).find((e) => e.accountId === 5);
    if (!pending) throw new Error('the erasure is not pending');
    await db.execute(`DELETE FROM sync_inbox`);
    await erasures.complete(pending.id, 5, pending.subject, 1);

    const left = await db.query<{ list_id: string | number; member_key: string }>(
      `SELECT list_id, member_key FROM list_members WHERE list_id IN (50, 51, 52, 70)`,
    );
    expect(left.map((r) => `${Number(r.list_id)}:${r.member_key}`).sort()).toEqual(['50:other@example.com', '70:shared@example.com']);
    const [success] = await db.query<{ user_keys: string }>(`SELECT user_keys FROM delivery_successes WHERE call_id = 'c-1'`);
    expect(JSON.parse(success?.user_keys ?? '[]')).toEqual(['email:other@example.com']);
  });
});

// Found by `npm run bench:size` (an outage's backlog of 5 million inbox rows, 21 erasures pending): the worker's
// "is the subject still on their way?" counted the subject's inbox rows by reading every waiting row of their lists,
// half a second a pending erasure every sweep, while the same rows were being drained.
describe('ErasureRepository.inFlight behind a backlog on PostgreSQL', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  let erasures: ErasureRepository;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('postgres'));
    db = new Database(dataSource);
    erasures = new ErasureRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')));
    await db.execute(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (1, 1, 'a', 10), (1, 2, 'b', 20)`);
    // The backlog: 40,000 rows of other members on both lists, waiting since before the erasure.
    await db.query(
      `INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT 10 * (1 + n % 2), 'u' || n || '@example.com', 1 FROM generate_series(1, 40000) n`,
    );
    await db.query(`ANALYZE sync_inbox`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  const rowsRead = async (work: (manager: EntityManager) => Promise<boolean>) => {
    const { result, rows } = await tableReads(db, 'sync_inbox', work);
    return { inFlight: result, read: rows };
  };

  it("finds the subject's rows at the end of the backlog without reading it, and says when they are gone", async () => {
    await erasures.accept(1, 'r-backlog', { email: 'jane@example.com' }, 'customerId', 5000);
    const [pending] = await erasures.due(10, Date.now() + 10_000);
    if (!pending) throw new Error('the erasure is not pending');
    const waiting = await rowsRead((m) => erasures.inFlight(1, pending.subject, m));
    expect(waiting.inFlight).toBe(true);
    expect(waiting.read).toBeLessThan(1000);
    // Delivered: the subject's rows are gone, the backlog before them too (the worker drains a list in order).
    await db.execute(`DELETE FROM sync_inbox WHERE member_key = 'jane@example.com' OR member_key LIKE 'u%'`);
    await db.query(`INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT 10, 'later' || n || '@example.com', 1 FROM generate_series(1, 50) n`);
    const settled = await rowsRead((m) => erasures.inFlight(1, pending.subject, m));
    expect(settled.inFlight).toBe(false);
    // A call of theirs whose answer is not known yet still holds them.
    await db.execute(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) ` +
        `VALUES (20, 'jane@example.com', 'jane@example.com', NULL, 'unknown', NULL, NULL, 1)`,
    );
    expect((await rowsRead((m) => erasures.inFlight(1, pending.subject, m))).inFlight).toBe(true);
  });
});

// A settlement removes the subject's inbox rows and records an unknown outcome in one transaction. If it commits while
// the check is between its reads, one of the two reads must still see the subject: the check reads the inbox first.
// (Found reading the code: with list_members read first, a settlement between the reads was missed by both.)
describe.each(DRIVERS)('ErasureRepository.inFlight with a settlement between its reads on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  let erasures: ErasureRepository;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
    erasures = new ErasureRepository(db, new ApiKeyCipher(randomBytes(32).toString('base64')));
    await db.execute(`INSERT INTO audience_connections (account_id, audience_id, audience_name, list_id) VALUES (1, 1, 'a', 10), (1, 2, 'b', 20)`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  /** The subject waits in list 20's inbox, behind another member; Iterable has them subscribed. */
  const waiting = async () => {
    await db.execute(`DELETE FROM sync_inbox`);
    await db.execute(`DELETE FROM list_members`);
    await db.execute(`INSERT INTO sync_inbox (list_id, member_key, created_at_ms) VALUES (20, 'jane@example.com', 1), (20, 'bob@example.com', 2)`);
    await db.execute(
      `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) ` +
        `VALUES (20, 'jane@example.com', 'jane@example.com', NULL, 'subscribed', NULL, NULL, 1)`,
    );
  };
  /** What DeliveryRepository.settle writes for a call whose answer never came: one transaction. */
  const settleUnknown = () =>
    db.transaction(async (manager) => {
      await db.execute(`DELETE FROM sync_inbox WHERE member_key = 'jane@example.com'`, [], manager);
      await db.execute(`UPDATE list_members SET state = 'unknown', recheck_at_ms = 999999 WHERE member_key = 'jane@example.com'`, [], manager);
    });

  it('sees the subject whichever read the settlement commits after', async () => {
    await erasures.accept(1, 'r-race', { email: 'jane@example.com' }, 'customerId', 5000);
    const [pending] = await erasures.due(10, Date.now() + 10_000);
    if (!pending) throw new Error('the erasure is not pending');
    // How many statements the check makes, then the settlement committed after each one in turn.
    const query = db.query.bind(db);
    let statements = 0;
    let settleAfter = -1;
    const spy = jest.spyOn(db, 'query').mockImplementation(async (...args: Parameters<Database['query']>) => {
      const rows = await query(...args);
      if (++statements === settleAfter) await settleUnknown();
      return rows;
    });
    try {
      await waiting();
      expect(await erasures.inFlight(1, pending.subject)).toBe(true);
      const total = statements;
      expect(total).toBeGreaterThan(1);
      for (settleAfter = 1; settleAfter <= total; settleAfter++) {
        spy.mockClear();
        await waiting();
        statements = 0;
        expect({ settleAfter, inFlight: await erasures.inFlight(1, pending.subject) }).toEqual({ settleAfter, inFlight: true });
      }
    } finally {
      spy.mockRestore();
    }
  });
});

// An erasure is answered to mParticle once the subject's forwarded attributes are gone too; finding them by email and
// userId read every attribute row of the account (no index on either).
describe.each(DRIVERS)('attributeSubjectKeys on %s', (driver) => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource(driver));
    db = new Database(dataSource);
    // [account, user key, email, userId, stamped at]: 3000 other users' attributes, and the subject's under three keys.
    const rows: [number, string, string | null, string | null, number][] = [
      ...Array.from({ length: 3000 }, (_, i): [number, string, string, string, number] => [1, `k${i}`, `u${i}@example.com`, `c${i}`, 1000]),
      [1, 'm-jane', 'jane@example.com', 'cust-jane', 1000],
      [1, 'm-jane-2', 'jane@example.com', null, 1000],
      [1, 'm-jane-3', null, 'cust-jane', 1000],
      [1, 'cust-jane', null, 'cust-jane', 1000],
      [1, 'm-jane-later', 'jane@example.com', null, 9000],
      [2, 'm-jane-elsewhere', 'jane@example.com', 'cust-jane', 1000],
    ];
    await db.insertRows(
      'user_attributes',
      [
        { name: 'account_id', type: 'bigint' },
        { name: 'user_key', type: 'text' },
        { name: 'attribute_key', type: 'text' },
        { name: 'value', type: 'text' },
        { name: 'email', type: 'text' },
        { name: 'user_id', type: 'text' },
        { name: 'source_message_id', type: 'text' },
        { name: 'timestamp_ms', type: 'bigint' },
        { name: 'updated_at_ms', type: 'bigint' },
      ],
      rows.map(([account, key, email, userId, at]) => [account, key, 'plan', '"gold"', email, userId, 'm', at, at]),
    );
    if (driver === 'postgres') await db.query(`ANALYZE user_attributes`);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('finds the subject by key, email and userId up to the erasure, in the account only, through indexes', async () => {
    const { result: keys, rows: read } = await tableReads(db, 'user_attributes', (manager) =>
      attributeSubjectKeys(db, 1, { keys: ['m-jane'], emails: ['jane@example.com'], userIds: ['cust-jane'] }, 5000, manager),
    );
    expect([...keys].sort()).toEqual(['cust-jane', 'm-jane', 'm-jane-2', 'm-jane-3']);
    if (driver === 'postgres') expect(read).toBeLessThan(100);
  });
});
