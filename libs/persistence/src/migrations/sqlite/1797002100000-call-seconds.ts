import { MigrationInterface, QueryRunner } from 'typeorm';

/** A quarter hour, in ms: the width of `call_peaks`' buckets (the same as `call_buckets`'). */
const BUCKET_MS = 900_000;
/** The fill counts the calls of the last two days: the busiest second is read for the last 24 h at most. */
const FILL_MS = 2 * 86_400_000;

/**
 * `call_seconds` and `call_peaks`: Iterable calls (not in dry run) per account and calendar second, and each
 * account's busiest second per quarter hour (see the PostgreSQL migration). SQLite has one writer at a time: each
 * inserted call adds to its second and raises its quarter hour's peak directly, and `call_second_changes` exists for
 * the same schema and stays empty.
 */
export class CallSeconds1797002100000 implements MigrationInterface {
  name = 'CallSeconds1797002100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_seconds" ("second_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "calls" bigint NOT NULL, PRIMARY KEY ("second_ms", "account_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "call_second_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "second_ms" bigint NOT NULL, "account_id" bigint NOT NULL, ' +
        '"calls" bigint NOT NULL)',
    );
    await queryRunner.query(
      'CREATE TABLE "call_peaks" ("bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "second_ms" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        'PRIMARY KEY ("bucket_ms", "account_id"))',
    );
    const second = 'NEW.created_at_ms - NEW.created_at_ms % 1000';
    const raise =
      `INSERT INTO call_peaks (bucket_ms, account_id, second_ms, calls) SELECT second_ms - second_ms % ${BUCKET_MS}, account_id, second_ms, calls ` +
      `FROM call_seconds WHERE second_ms = ${second} AND account_id = NEW.account_id ` +
      'ON CONFLICT (bucket_ms, account_id) DO UPDATE SET second_ms = excluded.second_ms, calls = excluded.calls WHERE excluded.calls > call_peaks.calls;';
    await queryRunner.query(
      `CREATE TRIGGER call_seconds_insert AFTER INSERT ON delivery_calls WHEN NOT NEW.dry_run BEGIN ` +
        `INSERT INTO call_seconds (second_ms, account_id, calls) VALUES (${second}, NEW.account_id, 1) ` +
        `ON CONFLICT (second_ms, account_id) DO UPDATE SET calls = call_seconds.calls + 1; ${raise} END`,
    );
    const since = Math.floor((Date.now() - FILL_MS) / BUCKET_MS) * BUCKET_MS;
    await queryRunner.query(
      'INSERT INTO call_seconds (second_ms, account_id, calls) SELECT created_at_ms - created_at_ms % 1000, account_id, COUNT(*) FROM delivery_calls ' +
        'WHERE NOT dry_run AND created_at_ms >= ? GROUP BY 1, 2',
      [since],
    );
    // The busiest second of each quarter hour (the earliest of equals), as the trigger keeps it from here on.
    await queryRunner.query(
      `INSERT INTO call_peaks (bucket_ms, account_id, second_ms, calls) SELECT b, account_id, second_ms, calls FROM (` +
        `SELECT second_ms - second_ms % ${BUCKET_MS} AS b, account_id, second_ms, calls, ` +
        `ROW_NUMBER() OVER (PARTITION BY second_ms - second_ms % ${BUCKET_MS}, account_id ORDER BY calls DESC, second_ms) AS r FROM call_seconds) x WHERE r = 1`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER call_seconds_insert');
    await queryRunner.query('DROP TABLE "call_peaks"');
    await queryRunner.query('DROP TABLE "call_second_changes"');
    await queryRunner.query('DROP TABLE "call_seconds"');
  }
}
