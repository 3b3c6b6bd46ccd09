import { MigrationInterface, QueryRunner } from 'typeorm';

export class ListLeaseInFlight1795989915650 implements MigrationInterface {
  name = 'ListLeaseInFlight1795989915650';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "temporary_list_leases" ("account_id" bigint, "list_id" bigint PRIMARY KEY NOT NULL, "holder" varchar(64), "expires_at" bigint NOT NULL, "generation" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint, "failing_since" bigint, "last_error" text, "in_flight" text)',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_list_leases"("account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error") SELECT "account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error" FROM "list_leases"',
    );
    await queryRunner.query('DROP TABLE "list_leases"');
    await queryRunner.query('ALTER TABLE "temporary_list_leases" RENAME TO "list_leases"');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "list_leases" RENAME TO "temporary_list_leases"');
    await queryRunner.query(
      'CREATE TABLE "list_leases" ("account_id" bigint, "list_id" bigint PRIMARY KEY NOT NULL, "holder" varchar(64), "expires_at" bigint NOT NULL, "generation" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint, "failing_since" bigint, "last_error" text)',
    );
    await queryRunner.query(
      'INSERT INTO "list_leases"("account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error") SELECT "account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error" FROM "temporary_list_leases"',
    );
    await queryRunner.query('DROP TABLE "temporary_list_leases"');
  }
}
