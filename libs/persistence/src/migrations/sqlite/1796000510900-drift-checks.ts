import { MigrationInterface, QueryRunner } from 'typeorm';

export class DriftChecks1796000510900 implements MigrationInterface {
  name = 'DriftChecks1796000510900';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "drift_reports" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "state" varchar(8) NOT NULL, "repair" boolean NOT NULL DEFAULT (0), "trigger_kind" varchar(8) NOT NULL, "identifier" varchar(8) NOT NULL, "requested_at_ms" bigint NOT NULL, "started_at_ms" bigint, "checked_at_ms" bigint, "finished_at_ms" bigint, "holder" varchar(64), "heartbeat_at_ms" bigint, "phase" varchar(32), "iterable_members" integer, "desired_members" integer, "missing" integer NOT NULL DEFAULT (0), "extra" integer NOT NULL DEFAULT (0), "repaired" integer NOT NULL DEFAULT (0), "left_out" integer NOT NULL DEFAULT (0), "refused" integer NOT NULL DEFAULT (0), "missing_sample" text, "extra_sample" text, "error" text)',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "drift_reports_one_running" ON "drift_reports" ("list_id") WHERE state = \'running\'');
    await queryRunner.query('CREATE INDEX "drift_reports_by_list" ON "drift_reports" ("list_id", "id") ');
    await queryRunner.query(
      'CREATE TABLE "drift_settings" ("account_id" bigint PRIMARY KEY NOT NULL, "identifier" varchar(8) NOT NULL DEFAULT (\'email\'), "schedule_hours" integer, "schedule_repair" boolean NOT NULL DEFAULT (0), "last_scheduled_at_ms" bigint, "updated_at_ms" bigint NOT NULL)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "drift_settings"');
    await queryRunner.query('DROP INDEX "drift_reports_by_list"');
    await queryRunner.query('DROP INDEX "drift_reports_one_running"');
    await queryRunner.query('DROP TABLE "drift_reports"');
  }
}
