import { MigrationInterface, QueryRunner } from 'typeorm';

/** A quarter hour, in ms: the buckets' width (the console's day window charts 96 of them). */
const BUCKET_MS = 900_000;
/** The fill counts the audit of the last two days: the buckets are read for the last 24 h only. */
const FILL_MS = 2 * 86_400_000;

/**
 * `call_buckets` and `outcome_buckets`: Iterable calls, and members delivered per audience connection, per quarter
 * hour (see the PostgreSQL migration). SQLite has one writer at a time: each inserted audit row adds to its bucket
 * directly, and the `*_changes` tables exist for the same schema and stay empty. Only inserts count: an erasure that
 * edits the audit leaves the figures of what happened as they were.
 */
export class DeliveryBuckets1797001900000 implements MigrationInterface {
  name = 'DeliveryBuckets1797001900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "call_buckets" ("bucket_ms" bigint PRIMARY KEY NOT NULL, "calls" bigint NOT NULL, "failed_calls" bigint NOT NULL, ' +
        '"dry_run_calls" bigint NOT NULL, "adds" bigint NOT NULL, "removes" bigint NOT NULL)',
    );
    await queryRunner.query(
      'CREATE TABLE "call_bucket_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "bucket_ms" bigint NOT NULL, "calls" bigint NOT NULL, ' +
        '"failed_calls" bigint NOT NULL, "dry_run_calls" bigint NOT NULL, "adds" bigint NOT NULL, "removes" bigint NOT NULL)',
    );
    await queryRunner.query(
      'CREATE TABLE "outcome_buckets" ("bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, ' +
        '"adds" bigint NOT NULL, "removes" bigint NOT NULL, "failed" bigint NOT NULL, PRIMARY KEY ("bucket_ms", "account_id", "audience_id", "list_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "outcome_bucket_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "bucket_ms" bigint NOT NULL, "account_id" bigint NOT NULL, ' +
        '"audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, "adds" bigint NOT NULL, "removes" bigint NOT NULL, "failed" bigint NOT NULL)',
    );

    const bucket = (t: string) => `${t}.created_at_ms - ${t}.created_at_ms % ${BUCKET_MS}`;
    const addCall =
      `INSERT INTO call_buckets (bucket_ms, calls, failed_calls, dry_run_calls, adds, removes) VALUES (${bucket('NEW')}, ` +
      'CASE WHEN NOT NEW.dry_run THEN 1 ELSE 0 END, CASE WHEN NOT NEW.dry_run AND (NEW.http_status IS NULL OR NEW.http_status <> 200) THEN 1 ELSE 0 END, ' +
      `CASE WHEN NEW.dry_run THEN 1 ELSE 0 END, CASE WHEN NOT NEW.dry_run AND NEW.action = 'subscribe' THEN NEW.success_count ELSE 0 END, ` +
      `CASE WHEN NOT NEW.dry_run AND NEW.action = 'unsubscribe' THEN NEW.success_count ELSE 0 END) ` +
      'ON CONFLICT (bucket_ms) DO UPDATE SET calls = call_buckets.calls + excluded.calls, failed_calls = call_buckets.failed_calls + excluded.failed_calls, ' +
      'dry_run_calls = call_buckets.dry_run_calls + excluded.dry_run_calls, adds = call_buckets.adds + excluded.adds, removes = call_buckets.removes + excluded.removes;';
    const addOutcome = (adds: string, removes: string, failed: string) =>
      `INSERT INTO outcome_buckets (bucket_ms, account_id, audience_id, list_id, adds, removes, failed) ` +
      `VALUES (${bucket('NEW')}, NEW.account_id, NEW.audience_id, NEW.list_id, ${adds}, ${removes}, ${failed}) ` +
      'ON CONFLICT (bucket_ms, account_id, audience_id, list_id) DO UPDATE SET adds = outcome_buckets.adds + excluded.adds, ' +
      'removes = outcome_buckets.removes + excluded.removes, failed = outcome_buckets.failed + excluded.failed;';
    const delivered = (action: string) => `CASE WHEN NEW.outcome = 'delivered' AND NEW.action = '${action}' THEN 1 ELSE 0 END`;
    const refused = `CASE WHEN NEW.outcome = 'failed' AND NOT NEW.retryable THEN 1 ELSE 0 END`;
    await queryRunner.query(`CREATE TRIGGER call_buckets_insert AFTER INSERT ON delivery_calls BEGIN ${addCall} END`);
    await queryRunner.query(
      `CREATE TRIGGER outcome_buckets_verdicts_insert AFTER INSERT ON delivery_verdicts ` +
        `WHEN (NEW.outcome = 'delivered' AND NEW.action IN ('add', 'delete')) OR (NEW.outcome = 'failed' AND NOT NEW.retryable) ` +
        `BEGIN ${addOutcome(delivered('add'), delivered('delete'), refused)} END`,
    );
    await queryRunner.query(
      `CREATE TRIGGER outcome_buckets_successes_insert AFTER INSERT ON delivery_successes BEGIN ` +
        `${addOutcome(`CASE WHEN NEW.action = 'add' THEN NEW.n ELSE 0 END`, `CASE WHEN NEW.action = 'delete' THEN NEW.n ELSE 0 END`, '0')} END`,
    );

    const since = Math.floor((Date.now() - FILL_MS) / BUCKET_MS) * BUCKET_MS;
    const b = `created_at_ms - created_at_ms % ${BUCKET_MS}`;
    await queryRunner.query(
      `INSERT INTO call_buckets (bucket_ms, calls, failed_calls, dry_run_calls, adds, removes) SELECT ${b}, SUM(CASE WHEN NOT dry_run THEN 1 ELSE 0 END), ` +
        'SUM(CASE WHEN NOT dry_run AND (http_status IS NULL OR http_status <> 200) THEN 1 ELSE 0 END), SUM(CASE WHEN dry_run THEN 1 ELSE 0 END), ' +
        `SUM(CASE WHEN NOT dry_run AND action = 'subscribe' THEN success_count ELSE 0 END), ` +
        `SUM(CASE WHEN NOT dry_run AND action = 'unsubscribe' THEN success_count ELSE 0 END) FROM delivery_calls WHERE created_at_ms >= ? GROUP BY 1`,
      [since],
    );
    await queryRunner.query(
      `INSERT INTO outcome_buckets (bucket_ms, account_id, audience_id, list_id, adds, removes, failed) ` +
        `SELECT b, account_id, audience_id, list_id, SUM(adds), SUM(removes), SUM(failed) FROM (` +
        `SELECT ${b} AS b, account_id, audience_id, list_id, CASE WHEN outcome = 'delivered' AND action = 'add' THEN 1 ELSE 0 END AS adds, ` +
        `CASE WHEN outcome = 'delivered' AND action = 'delete' THEN 1 ELSE 0 END AS removes, CASE WHEN outcome = 'failed' AND NOT retryable THEN 1 ELSE 0 END AS failed ` +
        `FROM delivery_verdicts WHERE created_at_ms >= ? ` +
        `AND ((outcome = 'delivered' AND action IN ('add', 'delete')) OR (outcome = 'failed' AND NOT retryable)) ` +
        `UNION ALL SELECT ${b}, account_id, audience_id, list_id, CASE WHEN action = 'add' THEN n ELSE 0 END, CASE WHEN action = 'delete' THEN n ELSE 0 END, 0 ` +
        `FROM delivery_successes WHERE created_at_ms >= ?) x GROUP BY 1, 2, 3, 4`,
      [since, since],
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER outcome_buckets_successes_insert');
    await queryRunner.query('DROP TRIGGER outcome_buckets_verdicts_insert');
    await queryRunner.query('DROP TRIGGER call_buckets_insert');
    await queryRunner.query('DROP TABLE "outcome_bucket_changes"');
    await queryRunner.query('DROP TABLE "outcome_buckets"');
    await queryRunner.query('DROP TABLE "call_bucket_changes"');
    await queryRunner.query('DROP TABLE "call_buckets"');
  }
}
