import { createDataSource } from '../data-source';
import { createTestDatabase, DRIVERS } from '../testing/test-database';

describe.each(DRIVERS)('migrations on %s', (driver) => {
  it('build exactly the schema the entities describe, and undo cleanly', async () => {
    const database = await createTestDatabase(driver);
    const dataSource = createDataSource(database.url);
    try {
      await dataSource.initialize();
      const applied = await dataSource.runMigrations();
      expect(applied.length).toBeGreaterThan(0);
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);

      for (let i = 0; i < applied.length; i++) await dataSource.undoLastMigration();
      const tables = await dataSource.query(
        driver === 'sqlite'
          ? `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'migrations'`
          : `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
      );
      expect(tables).toEqual([]);
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    }
  });

  it('drift-repair-extras marks as ours the members subscribed now and those the audit shows a delivered add of', async () => {
    const database = await createTestDatabase(driver);
    const dataSource = createDataSource(database.url);
    try {
      await dataSource.initialize();
      const applied = await dataSource.runMigrations();
      // Back to just before drift-repair-extras (later migrations undone with it).
      const undo = applied.length - applied.findIndex((m) => m.name === 'DriftRepairExtras1797000241500');
      for (let i = 0; i < undo; i++) await dataSource.undoLastMigration();
      await dataSource.query(
        `INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) VALUES
          (1, 'now@x.io', 'now@x.io', NULL, 'subscribed', NULL, NULL, 1),
          (1, 'audited@x.io', 'audited@x.io', NULL, 'unsubscribed', NULL, NULL, 1),
          (1, 'refused@x.io', 'refused@x.io', NULL, 'unsubscribed', NULL, NULL, 1),
          (1, 'removed-only@x.io', 'removed-only@x.io', NULL, 'unsubscribed', NULL, NULL, 1),
          (2, 'audited@x.io', 'audited@x.io', NULL, 'unsubscribed', NULL, NULL, 1)`,
      );
      const verdict = (email: string, action: string, outcome: string) =>
        `('c1', 7, 8, 1, 'u', NULL, '${action}', '${email}', NULL, '${outcome}', NULL, ${driver === 'postgres' ? 'false' : 0}, 1)`;
      await dataSource.query(
        `INSERT INTO delivery_verdicts (call_id, account_id, audience_id, list_id, user_key, mpid, action, email, user_id, outcome, reason, retryable, created_at_ms)
         VALUES ${[verdict('audited@x.io', 'add', 'delivered'), verdict('refused@x.io', 'add', 'failed'), verdict('removed-only@x.io', 'delete', 'delivered')].join(', ')}`,
      );
      await dataSource.runMigrations();
      const rows: { list_id: number | string; member_key: string; ever_subscribed: boolean | number }[] = await dataSource.query(
        `SELECT list_id, member_key, ever_subscribed FROM list_members ORDER BY list_id, member_key`,
      );
      expect(rows.map((r) => `${r.list_id}:${r.member_key}:${Boolean(r.ever_subscribed)}`)).toEqual([
        '1:audited@x.io:true',
        '1:now@x.io:true',
        '1:refused@x.io:false',
        '1:removed-only@x.io:false',
        '2:audited@x.io:false',
      ]);
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    }
  });
});
