import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `inbox_counts`: inbox rows waiting per list, kept by triggers on `sync_inbox` (one writer at a time on SQLite: each
 * row's insert or delete updates its list's count directly), so the connections, `/v1/stats` and `/metrics` read a
 * few rows instead of counting the inbox. `inbox_count_changes` exists for the same schema as PostgreSQL and stays
 * empty here.
 */
export class InboxCounts1797001100000 implements MigrationInterface {
  name = 'InboxCounts1797001100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE "inbox_counts" ("list_id" bigint PRIMARY KEY NOT NULL, "n" bigint NOT NULL)');
    await queryRunner.query(
      'CREATE TABLE "inbox_count_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "list_id" bigint NOT NULL, "n" bigint NOT NULL)',
    );
    const add = (who: 'NEW' | 'OLD', n: string) =>
      `INSERT INTO inbox_counts (list_id, n) VALUES (${who}.list_id, ${n}) ON CONFLICT (list_id) DO UPDATE SET n = inbox_counts.n + excluded.n;`;
    await queryRunner.query(`CREATE TRIGGER inbox_counts_insert AFTER INSERT ON sync_inbox BEGIN ${add('NEW', '1')} END`);
    await queryRunner.query(`CREATE TRIGGER inbox_counts_delete AFTER DELETE ON sync_inbox BEGIN ${add('OLD', '-1')} END`);
    await queryRunner.query('INSERT INTO inbox_counts (list_id, n) SELECT list_id, COUNT(*) FROM sync_inbox GROUP BY list_id');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER inbox_counts_delete');
    await queryRunner.query('DROP TRIGGER inbox_counts_insert');
    await queryRunner.query('DROP TABLE "inbox_count_changes"');
    await queryRunner.query('DROP TABLE "inbox_counts"');
  }
}
