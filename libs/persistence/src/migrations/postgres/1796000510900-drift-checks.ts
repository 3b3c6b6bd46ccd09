import { MigrationInterface, QueryRunner } from 'typeorm';

export class DriftChecks1796000510900 implements MigrationInterface {
  name = 'DriftChecks1796000510900';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "drift_reports" ("id" SERIAL NOT NULL, "account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "state" character varying(8) NOT NULL, "repair" boolean NOT NULL DEFAULT false, "trigger_kind" character varying(8) NOT NULL, "identifier" character varying(8) NOT NULL, "requested_at_ms" bigint NOT NULL, "started_at_ms" bigint, "checked_at_ms" bigint, "finished_at_ms" bigint, "holder" character varying(64), "heartbeat_at_ms" bigint, "phase" character varying(32), "iterable_members" integer, "desired_members" integer, "missing" integer NOT NULL DEFAULT \'0\', "extra" integer NOT NULL DEFAULT \'0\', "repaired" integer NOT NULL DEFAULT \'0\', "left_out" integer NOT NULL DEFAULT \'0\', "refused" integer NOT NULL DEFAULT \'0\', "missing_sample" text, "extra_sample" text, "error" text, CONSTRAINT "PK_febab9f861125f0993b192bef3a" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "drift_reports_one_running" ON "drift_reports"  ("list_id") WHERE state = \'running\'');
    await queryRunner.query('CREATE INDEX "drift_reports_by_list" ON "drift_reports"  ("list_id", "id") ');
    await queryRunner.query(
      'CREATE TABLE "drift_settings" ("account_id" bigint NOT NULL, "identifier" character varying(8) NOT NULL DEFAULT \'email\', "schedule_hours" integer, "schedule_repair" boolean NOT NULL DEFAULT false, "last_scheduled_at_ms" bigint, "updated_at_ms" bigint NOT NULL, CONSTRAINT "PK_679c2d4ca4f830fbcae2bca8143" PRIMARY KEY ("account_id"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "drift_settings"');
    await queryRunner.query('DROP INDEX "public"."drift_reports_by_list"');
    await queryRunner.query('DROP INDEX "public"."drift_reports_one_running"');
    await queryRunner.query('DROP TABLE "drift_reports"');
  }
}
