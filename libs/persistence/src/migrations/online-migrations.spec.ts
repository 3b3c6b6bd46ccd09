import { Client } from 'pg';
import { createDataSource } from '../data-source';
import { createTestDatabase, undoMigrationsThrough } from '../testing/test-database';

/** A member row for `list_members` (the columns without defaults). */
const insertMember = (key: string) =>
  `INSERT INTO list_members (list_id, member_key, email, state, updated_at_ms) VALUES (1, '${key}', '${key}', 'subscribed', 1)`;

/**
 * A release runs `db:migrate` while ingest and delivery go on. On PostgreSQL a migration that builds an index on a
 * big table builds it CONCURRENTLY: a plain CREATE INDEX holds writes to the table for as long as the build takes
 * (seconds at 10 million rows), and waits behind any open writer with every later writer queued behind it.
 */
describe('migrations on postgres, on tables in use', () => {
  it('list-members-partial-indexes builds and drops its indexes without holding writes to list_members', async () => {
    const database = await createTestDatabase('postgres');
    const dataSource = createDataSource(database.url);
    const writer = new Client({ connectionString: database.url });
    const another = new Client({ connectionString: database.url });
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
      await undoMigrationsThrough(dataSource, 'ListMembersPartialIndexes1797001200000');
      await writer.connect();
      await another.connect();
      await dataSource.query(`INSERT INTO list_members (list_id, member_key, email, state, reason, recheck_at_ms, updated_at_ms)
        VALUES (1, 'refused@x.io', 'refused@x.io', 'failed', 'invalid email', NULL, 1), (1, 'due@x.io', 'due@x.io', 'unknown', NULL, 5, 1)`);

      // A worker's transaction is open on list_members when the release starts.
      await writer.query('BEGIN');
      await writer.query(insertMember('open@x.io'));
      const migrating = dataSource.runMigrations();
      await new Promise((r) => setTimeout(r, 500));

      // Another writer meanwhile: answered at once, not queued behind the migration.
      await another.query(`SET statement_timeout = '3s'`);
      const started = Date.now();
      await another.query(insertMember('meanwhile@x.io'));
      expect(Date.now() - started).toBeLessThan(3000);

      await writer.query('COMMIT');
      expect((await migrating).map((m) => m.name)).toContain('ListMembersPartialIndexes1797001200000');
      const indexes: { name: string; valid: boolean; definition: string }[] = await dataSource.query(
        `SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'list_members'::regclass ORDER BY 1`,
      );
      expect(indexes.map((i) => [i.name, i.valid])).toEqual([
        ['PK_655e6d53c04ead142e84ef0805a', true],
        ['list_members_by_user', true],
        ['list_members_failed', true],
        ['list_members_recheck_due', true],
      ]);
      // The reads they serve answer as before.
      const failed = await dataSource.query(`SELECT member_key FROM list_members WHERE list_id = 1 AND state = 'failed'`);
      expect(failed).toEqual([{ member_key: 'refused@x.io' }]);
      const due = await dataSource.query(`SELECT member_key FROM list_members WHERE recheck_at_ms <= 10`);
      expect(due).toEqual([{ member_key: 'due@x.io' }]);
    } finally {
      await writer.end().catch(() => undefined);
      await another.end().catch(() => undefined);
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    }
  });

  it('a build stopped half way (an invalid index left behind) is finished by the next db:migrate', async () => {
    const database = await createTestDatabase('postgres');
    const dataSource = createDataSource(database.url);
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
      await undoMigrationsThrough(dataSource, 'ListMembersPartialIndexes1797001200000');
      // What a killed CREATE INDEX CONCURRENTLY leaves: the index in the catalogue, not valid, not used by reads,
      // and the migration not recorded.
      await dataSource.query(`CREATE INDEX "list_members_recheck_due" ON "list_members" ("list_id", "recheck_at_ms") WHERE recheck_at_ms IS NOT NULL`);
      await dataSource.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'list_members_recheck_due'::regclass`);

      expect((await dataSource.runMigrations()).map((m) => m.name)).toContain('ListMembersPartialIndexes1797001200000');
      const [index] = await dataSource.query(`SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = 'list_members_recheck_due'::regclass`);
      expect(index).toEqual({ valid: true });
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    }
  });
});
