import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveryAudit1795881989039 implements MigrationInterface {
  name = 'DeliveryAudit1795881989039';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "delivery_calls" ("id" varchar(36) PRIMARY KEY NOT NULL, "account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "action" varchar(12) NOT NULL, "subscriber_count" integer NOT NULL, "http_status" integer, "success_count" integer NOT NULL, "failure_count" integer NOT NULL, "duration_ms" integer NOT NULL, "error" text, "dry_run" boolean NOT NULL DEFAULT (0), "created_at_ms" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "delivery_calls_by_list" ON "delivery_calls" ("account_id", "list_id", "created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_calls_by_time" ON "delivery_calls" ("created_at_ms") ');
    await queryRunner.query(
      'CREATE TABLE "delivery_verdicts" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "call_id" varchar(36) NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "outcome" varchar(12) NOT NULL, "reason" varchar(32), "retryable" boolean NOT NULL DEFAULT (0), "created_at_ms" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_time" ON "delivery_verdicts" ("created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_mpid" ON "delivery_verdicts" ("mpid") ');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_call" ON "delivery_verdicts" ("call_id") ');
    await queryRunner.query(
      'CREATE TABLE "list_leases" ("account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "holder" varchar(64) NOT NULL, "expires_at" bigint NOT NULL, PRIMARY KEY ("account_id", "list_id"))',
    );
    await queryRunner.query('DROP INDEX "memberships_pending_by_list"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query(
      'CREATE TABLE "temporary_memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "list_id" bigint NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "state" varchar(16) NOT NULL, "version" integer NOT NULL DEFAULT (1), "attempts" integer NOT NULL DEFAULT (0), "last_error" text, "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "next_attempt_at" bigint, PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_memberships"("account_id", "audience_id", "user_key", "list_id", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "state", "version", "attempts", "last_error", "updated_at") SELECT "account_id", "audience_id", "user_key", "list_id", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "state", "version", "attempts", "last_error", "updated_at" FROM "memberships"',
    );
    await queryRunner.query('DROP TABLE "memberships"');
    await queryRunner.query('ALTER TABLE "temporary_memberships" RENAME TO "memberships"');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships" ("account_id", "list_id", "state") ');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('CREATE INDEX "memberships_due" ON "memberships" ("state", "next_attempt_at") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "memberships_due"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('DROP INDEX "memberships_pending_by_list"');
    await queryRunner.query('ALTER TABLE "memberships" RENAME TO "temporary_memberships"');
    await queryRunner.query(
      'CREATE TABLE "memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "list_id" bigint NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "state" varchar(16) NOT NULL, "version" integer NOT NULL DEFAULT (1), "attempts" integer NOT NULL DEFAULT (0), "last_error" text, "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "memberships"("account_id", "audience_id", "user_key", "list_id", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "state", "version", "attempts", "last_error", "updated_at") SELECT "account_id", "audience_id", "user_key", "list_id", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "state", "version", "attempts", "last_error", "updated_at" FROM "temporary_memberships"',
    );
    await queryRunner.query('DROP TABLE "temporary_memberships"');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships" ("account_id", "list_id", "state") ');
    await queryRunner.query('DROP TABLE "list_leases"');
    await queryRunner.query('DROP INDEX "delivery_verdicts_by_call"');
    await queryRunner.query('DROP INDEX "delivery_verdicts_by_mpid"');
    await queryRunner.query('DROP INDEX "delivery_verdicts_by_time"');
    await queryRunner.query('DROP TABLE "delivery_verdicts"');
    await queryRunner.query('DROP INDEX "delivery_calls_by_time"');
    await queryRunner.query('DROP INDEX "delivery_calls_by_list"');
    await queryRunner.query('DROP TABLE "delivery_calls"');
  }
}
