import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserAttributes1796001366198 implements MigrationInterface {
  name = 'UserAttributes1796001366198';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "user_attributes" ("account_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "attribute_key" varchar(255) NOT NULL, "value" text, "skip_reason" varchar(32), "mpid" varchar(24), "email" varchar(320), "user_id" varchar(200), "source_message_id" varchar(255) NOT NULL, "timestamp_ms" bigint NOT NULL, "updated_at_ms" bigint NOT NULL, PRIMARY KEY ("account_id", "user_key", "attribute_key"))',
    );
    await queryRunner.query(
      'CREATE TABLE "attribute_inbox" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "created_at_ms" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "attribute_inbox_by_account" ON "attribute_inbox" ("account_id", "id") ');
    await queryRunner.query(
      'CREATE TABLE "attribute_leases" ("account_id" bigint PRIMARY KEY NOT NULL, "holder" varchar(64), "expires_at_ms" bigint NOT NULL, "next_attempt_at_ms" bigint NOT NULL, "attempts" integer NOT NULL DEFAULT (0), "last_error" varchar(255))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "attribute_leases"');
    await queryRunner.query('DROP INDEX "attribute_inbox_by_account"');
    await queryRunner.query('DROP TABLE "attribute_inbox"');
    await queryRunner.query('DROP TABLE "user_attributes"');
  }
}
