import { MigrationInterface, QueryRunner } from 'typeorm';

/** A quarter hour, in ms: the buckets' width (the console's day window charts 96 of them). */
const BUCKET_MS = 900_000;
/** The fill counts the audit of the last two days: the buckets are read for the last 24 h only. */
const FILL_MS = 2 * 86_400_000;

/**
 * `call_buckets` and `outcome_buckets`: Iterable calls, and members delivered per audience connection, per quarter
 * hour, so the console's day figures (`/v1/summary?window=day`, `/v1/connections`' 24 h) read a few rows per bucket
 * instead of a day of audit, which grows with traffic. Statement triggers on inserts into `delivery_calls`,
 * `delivery_verdicts` and `delivery_successes` append what each statement adds to the `*_changes` tables (no
 * settlement waits on a shared bucket row); the worker's sweeper folds them in, and the retention prune drops old
 * buckets. Only inserts count: an erasure that edits the audit leaves the figures of what happened as they were.
 * Creating the triggers locks the three tables against writes until this migration commits (only the worker writes
 * them), so the fill from the last two days of audit and the rows counted after it add up exactly.
 */
export class DeliveryBuckets1797001900000 implements MigrationInterface {
  name = 'DeliveryBuckets1797001900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_buckets" ("bucket_ms" bigint NOT NULL, "calls" bigint NOT NULL, "failed_calls" bigint NOT NULL, "dry_run_calls" bigint NOT NULL, ' +
        '"adds" bigint NOT NULL, "removes" bigint NOT NULL, CONSTRAINT "PK_1dc760265aaa039dbfa5a196247" PRIMARY KEY ("bucket_ms"))',
    );
    await queryRunner.query(
      'CREATE TABLE "call_bucket_changes" ("id" SERIAL NOT NULL, "bucket_ms" bigint NOT NULL, "calls" bigint NOT NULL, "failed_calls" bigint NOT NULL, ' +
        '"dry_run_calls" bigint NOT NULL, "adds" bigint NOT NULL, "removes" bigint NOT NULL, CONSTRAINT "PK_41d8b57e24697ffda4210fc684b" PRIMARY KEY ("id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "outcome_buckets" ("bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, ' +
        '"adds" bigint NOT NULL, "removes" bigint NOT NULL, "failed" bigint NOT NULL, ' +
        'CONSTRAINT "PK_b70c8feb6e0edd197fd60622453" PRIMARY KEY ("bucket_ms", "account_id", "audience_id", "list_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "outcome_bucket_changes" ("id" SERIAL NOT NULL, "bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, ' +
        '"list_id" bigint NOT NULL, "adds" bigint NOT NULL, "removes" bigint NOT NULL, "failed" bigint NOT NULL, CONSTRAINT "PK_f0c6c09d7f06ecbeacf73bf8fcd" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "call_bucket_changes_id_seq" CYCLE');
    await queryRunner.query('ALTER SEQUENCE "outcome_bucket_changes_id_seq" CYCLE');

    const bucket = `created_at_ms - created_at_ms % ${BUCKET_MS}`;
    // What calls count for: made (not in dry run), failed (not 200), in dry run, subscribers Iterable counted done.
    const calls = (rows: string, where = '') =>
      `SELECT ${bucket}, SUM(CASE WHEN NOT dry_run THEN 1 ELSE 0 END), ` +
      'SUM(CASE WHEN NOT dry_run AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END), SUM(CASE WHEN dry_run THEN 1 ELSE 0 END), ' +
      `SUM(CASE WHEN NOT dry_run AND action = 'subscribe' THEN success_count ELSE 0 END), ` +
      `SUM(CASE WHEN NOT dry_run AND action = 'unsubscribe' THEN success_count ELSE 0 END) FROM ${rows}${where} GROUP BY 1`;
    // What members count for: a delivered add or delete, a refusal for good; compact rows hold `n` delivered.
    const verdicts = (rows: string, where = '') =>
      `SELECT ${bucket}, account_id, audience_id, list_id, SUM(CASE WHEN outcome = 'delivered' AND action = 'add' THEN 1 ELSE 0 END), ` +
      `SUM(CASE WHEN outcome = 'delivered' AND action = 'delete' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'failed' AND NOT retryable THEN 1 ELSE 0 END) ` +
      `FROM ${rows}${where} GROUP BY 1, 2, 3, 4 ` +
      `HAVING SUM(CASE WHEN (outcome = 'delivered' AND action IN ('add', 'delete')) OR (outcome = 'failed' AND NOT retryable) THEN 1 ELSE 0 END) > 0`;
    const successes = (rows: string, where = '') =>
      `SELECT ${bucket}, account_id, audience_id, list_id, SUM(CASE WHEN action = 'add' THEN n ELSE 0 END), ` +
      `SUM(CASE WHEN action = 'delete' THEN n ELSE 0 END), 0 FROM ${rows}${where} GROUP BY 1, 2, 3, 4`;
    const into = {
      calls: (table: string) => `INSERT INTO ${table} (bucket_ms, calls, failed_calls, dry_run_calls, adds, removes)`,
      outcomes: (table: string) => `INSERT INTO ${table} (bucket_ms, account_id, audience_id, list_id, adds, removes, failed)`,
    };
    await queryRunner.query(`CREATE FUNCTION call_buckets_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ${into.calls('call_bucket_changes')} ${calls('new_rows')};
  RETURN NULL;
END $$`);
    await queryRunner.query(`CREATE FUNCTION outcome_buckets_verdicts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ${into.outcomes('outcome_bucket_changes')} ${verdicts('new_rows')};
  RETURN NULL;
END $$`);
    await queryRunner.query(`CREATE FUNCTION outcome_buckets_successes_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  ${into.outcomes('outcome_bucket_changes')} ${successes('new_rows')};
  RETURN NULL;
END $$`);
    await queryRunner.query(
      'CREATE TRIGGER call_buckets_insert AFTER INSERT ON delivery_calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_buckets_added()',
    );
    await queryRunner.query(
      'CREATE TRIGGER outcome_buckets_verdicts_insert AFTER INSERT ON delivery_verdicts REFERENCING NEW TABLE AS new_rows ' +
        'FOR EACH STATEMENT EXECUTE FUNCTION outcome_buckets_verdicts_added()',
    );
    await queryRunner.query(
      'CREATE TRIGGER outcome_buckets_successes_insert AFTER INSERT ON delivery_successes REFERENCING NEW TABLE AS new_rows ' +
        'FOR EACH STATEMENT EXECUTE FUNCTION outcome_buckets_successes_added()',
    );
    const since = ` WHERE created_at_ms >= ${Math.floor((Date.now() - FILL_MS) / BUCKET_MS) * BUCKET_MS}`;
    await queryRunner.query(`${into.calls('call_buckets')} ${calls('delivery_calls', since)}`);
    await queryRunner.query(
      `${into.outcomes('outcome_buckets')} SELECT b, a, au, l, SUM(adds), SUM(removes), SUM(failed) FROM (` +
        `${verdicts('delivery_verdicts', since)} UNION ALL ${successes('delivery_successes', since)}) x (b, a, au, l, adds, removes, failed) GROUP BY 1, 2, 3, 4`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER outcome_buckets_successes_insert ON delivery_successes');
    await queryRunner.query('DROP TRIGGER outcome_buckets_verdicts_insert ON delivery_verdicts');
    await queryRunner.query('DROP TRIGGER call_buckets_insert ON delivery_calls');
    await queryRunner.query('DROP FUNCTION outcome_buckets_successes_added()');
    await queryRunner.query('DROP FUNCTION outcome_buckets_verdicts_added()');
    await queryRunner.query('DROP FUNCTION call_buckets_added()');
    await queryRunner.query('DROP TABLE "outcome_bucket_changes"');
    await queryRunner.query('DROP TABLE "outcome_buckets"');
    await queryRunner.query('DROP TABLE "call_bucket_changes"');
    await queryRunner.query('DROP TABLE "call_buckets"');
  }
}
