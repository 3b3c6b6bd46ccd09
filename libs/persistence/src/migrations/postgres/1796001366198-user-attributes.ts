import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserAttributes1796001366198 implements MigrationInterface {
  name = 'UserAttributes1796001366198';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "user_attributes" ("account_id" bigint NOT NULL, "user_key" character varying(200) NOT NULL, "attribute_key" character varying(255) NOT NULL, "value" text, "skip_reason" character varying(32), "mpid" character varying(24), "email" character varying(320), "user_id" character varying(200), "source_message_id" character varying(255) NOT NULL, "timestamp_ms" bigint NOT NULL, "updated_at_ms" bigint NOT NULL, CONSTRAINT "PK_61535097beb73be7a3f1f592dd6" PRIMARY KEY ("account_id", "user_key", "attribute_key"))',
    );
    await queryRunner.query(
      'CREATE TABLE "attribute_inbox" ("id" SERIAL NOT NULL, "account_id" bigint NOT NULL, "user_key" character varying(200) NOT NULL, "created_at_ms" bigint NOT NULL, CONSTRAINT "PK_3193ec124c31a2a9f87752bf9a9" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "attribute_inbox_by_account" ON "attribute_inbox"  ("account_id", "id") ');
    await queryRunner.query(
      'CREATE TABLE "attribute_leases" ("account_id" bigint NOT NULL, "holder" character varying(64), "expires_at_ms" bigint NOT NULL, "next_attempt_at_ms" bigint NOT NULL, "attempts" integer NOT NULL DEFAULT \'0\', "last_error" character varying(255), CONSTRAINT "PK_84bf20297dfd1bd82fa15670812" PRIMARY KEY ("account_id"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "attribute_leases"');
    await queryRunner.query('DROP INDEX "public"."attribute_inbox_by_account"');
    await queryRunner.query('DROP TABLE "attribute_inbox"');
    await queryRunner.query('DROP TABLE "user_attributes"');
  }
}
