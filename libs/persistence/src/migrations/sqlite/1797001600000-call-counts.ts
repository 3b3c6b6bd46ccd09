import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `call_counts`: Iterable calls recorded per account (all, failed, answered 429), kept by triggers on `delivery_calls`
 * (one writer at a time on SQLite: each row's change updates its account's count directly), so `/v1/stats` reads a few
 * rows instead of counting every call kept. `call_count_changes` exists for the same schema as PostgreSQL and stays
 * empty here.
 */
export class CallCounts1797001600000 implements MigrationInterface {
  name = 'CallCounts1797001600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_counts" ("account_id" bigint PRIMARY KEY NOT NULL, "calls" bigint NOT NULL, "failed" bigint NOT NULL, "rate_limited" bigint NOT NULL)',
    );
    await queryRunner.query(
      'CREATE TABLE "call_count_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        '"failed" bigint NOT NULL, "rate_limited" bigint NOT NULL)',
    );
    const failed = (who: 'NEW' | 'OLD') => `(CASE WHEN NOT ${who}.dry_run AND (${who}.http_status IS NULL OR ${who}.http_status <> 200) THEN 1 ELSE 0 END)`;
    const limited = (who: 'NEW' | 'OLD') => `(CASE WHEN ${who}.http_status = 429 THEN 1 ELSE 0 END)`;
    const add = (who: 'NEW' | 'OLD', sign: string) =>
      `INSERT INTO call_counts (account_id, calls, failed, rate_limited) VALUES (${who}.account_id, ${sign}1, ${sign}${failed(who)}, ${sign}${limited(who)}) ` +
      `ON CONFLICT (account_id) DO UPDATE SET calls = call_counts.calls + excluded.calls, failed = call_counts.failed + excluded.failed, ` +
      `rate_limited = call_counts.rate_limited + excluded.rate_limited;`;
    await queryRunner.query(`CREATE TRIGGER call_counts_insert AFTER INSERT ON delivery_calls BEGIN ${add('NEW', '')} END`);
    await queryRunner.query(`CREATE TRIGGER call_counts_update AFTER UPDATE ON delivery_calls BEGIN ${add('OLD', '-')} ${add('NEW', '')} END`);
    await queryRunner.query(`CREATE TRIGGER call_counts_delete AFTER DELETE ON delivery_calls BEGIN ${add('OLD', '-')} END`);
    await queryRunner.query(
      'INSERT INTO call_counts (account_id, calls, failed, rate_limited) SELECT account_id, COUNT(*), ' +
        'SUM(CASE WHEN NOT dry_run AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END), SUM(CASE WHEN http_status = 429 THEN 1 ELSE 0 END) ' +
        'FROM delivery_calls GROUP BY account_id',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER call_counts_delete');
    await queryRunner.query('DROP TRIGGER call_counts_update');
    await queryRunner.query('DROP TRIGGER call_counts_insert');
    await queryRunner.query('DROP TABLE "call_count_changes"');
    await queryRunner.query('DROP TABLE "call_counts"');
  }
}
