import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveryAudit1795881989039 implements MigrationInterface {
  name = 'DeliveryAudit1795881989039';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "delivery_calls" ("id" character varying(36) NOT NULL, "account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "action" character varying(12) NOT NULL, "subscriber_count" integer NOT NULL, "http_status" integer, "success_count" integer NOT NULL, "failure_count" integer NOT NULL, "duration_ms" integer NOT NULL, "error" text, "dry_run" boolean NOT NULL DEFAULT false, "created_at_ms" bigint NOT NULL, CONSTRAINT "PK_2bce3ee2b7ce00f3c1bd4acac1b" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "delivery_calls_by_list" ON "delivery_calls"  ("account_id", "list_id", "created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_calls_by_time" ON "delivery_calls"  ("created_at_ms") ');
    await queryRunner.query(
      'CREATE TABLE "delivery_verdicts" ("id" SERIAL NOT NULL, "call_id" character varying(36) NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, "user_key" character varying(200) NOT NULL, "mpid" character varying(24), "action" character varying(8) NOT NULL, "email" character varying(320), "user_id" character varying(200), "outcome" character varying(12) NOT NULL, "reason" character varying(32), "retryable" boolean NOT NULL DEFAULT false, "created_at_ms" bigint NOT NULL, CONSTRAINT "PK_06b7e85531cc97f3811623d7ab4" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_time" ON "delivery_verdicts"  ("created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_mpid" ON "delivery_verdicts"  ("mpid") ');
    await queryRunner.query('CREATE INDEX "delivery_verdicts_by_call" ON "delivery_verdicts"  ("call_id") ');
    await queryRunner.query(
      'CREATE TABLE "list_leases" ("account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "holder" character varying(64) NOT NULL, "expires_at" bigint NOT NULL, CONSTRAINT "PK_efe1955473fa145c17c27fc9d48" PRIMARY KEY ("account_id", "list_id"))',
    );
    await queryRunner.query('ALTER TABLE "memberships" ADD "next_attempt_at" bigint');
    await queryRunner.query('CREATE INDEX "memberships_due" ON "memberships"  ("state", "next_attempt_at") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."memberships_due"');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "next_attempt_at"');
    await queryRunner.query('DROP TABLE "list_leases"');
    await queryRunner.query('DROP INDEX "public"."delivery_verdicts_by_call"');
    await queryRunner.query('DROP INDEX "public"."delivery_verdicts_by_mpid"');
    await queryRunner.query('DROP INDEX "public"."delivery_verdicts_by_time"');
    await queryRunner.query('DROP TABLE "delivery_verdicts"');
    await queryRunner.query('DROP INDEX "public"."delivery_calls_by_time"');
    await queryRunner.query('DROP INDEX "public"."delivery_calls_by_list"');
    await queryRunner.query('DROP TABLE "delivery_calls"');
  }
}
