import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `call_counts`: Iterable calls recorded per account (all, failed, answered 429), kept by triggers on `delivery_calls`,
 * so `/v1/stats` reads a few rows instead of counting 30 days of calls (500,000 calls took 87 - 89 ms a call in
 * `npm run bench:size`, and a real customer's retention holds several times as many). Each statement on
 * `delivery_calls` appends its net change per account to `call_count_changes` (statement triggers over its transition
 * tables, as for `message_counts`); the worker's sweeper folds them in. Creating the triggers locks `delivery_calls`
 * against writes until this migration commits (only the worker writes it, a call at a time), so the counts taken here
 * and the changes counted after them add up exactly.
 */
export class CallCounts1797001600000 implements MigrationInterface {
  name = 'CallCounts1797001600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_counts" ("account_id" bigint NOT NULL, "calls" bigint NOT NULL, "failed" bigint NOT NULL, "rate_limited" bigint NOT NULL, ' +
        'CONSTRAINT "PK_989f6770b3f06bcaca46dcfa754" PRIMARY KEY ("account_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "call_count_changes" ("id" SERIAL NOT NULL, "account_id" bigint NOT NULL, "calls" bigint NOT NULL, "failed" bigint NOT NULL, ' +
        '"rate_limited" bigint NOT NULL, CONSTRAINT "PK_258846fae57e1f02f1d63da8567" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "call_count_changes_id_seq" CYCLE');
    // What one call counts for: itself, a failure when not a dry run and not answered 200, a 429.
    const counted = (rows: string, sign: string) =>
      `SELECT account_id, ${sign}COUNT(*), ${sign}SUM(CASE WHEN NOT dry_run AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END), ` +
      `${sign}SUM(CASE WHEN http_status = 429 THEN 1 ELSE 0 END) FROM ${rows} GROUP BY account_id`;
    await queryRunner.query(`CREATE FUNCTION call_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO call_count_changes (account_id, calls, failed, rate_limited) ${counted('new_rows', '')};
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO call_count_changes (account_id, calls, failed, rate_limited) ${counted('old_rows', '-')};
  END IF;
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER call_counts_insert AFTER INSERT ON delivery_calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER call_counts_update AFTER UPDATE ON delivery_calls REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_counts_changed()',
    );
    await queryRunner.query(
      'CREATE TRIGGER call_counts_delete AFTER DELETE ON delivery_calls REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION call_counts_changed()',
    );
    await queryRunner.query(`INSERT INTO call_counts (account_id, calls, failed, rate_limited) ${counted('delivery_calls', '')}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER call_counts_delete ON delivery_calls');
    await queryRunner.query('DROP TRIGGER call_counts_update ON delivery_calls');
    await queryRunner.query('DROP TRIGGER call_counts_insert ON delivery_calls');
    await queryRunner.query('DROP FUNCTION call_counts_changed()');
    await queryRunner.query('DROP TABLE "call_count_changes"');
    await queryRunner.query('DROP TABLE "call_counts"');
  }
}
