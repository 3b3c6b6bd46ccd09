import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795881130566 implements MigrationInterface {
  name = 'InitialSchema1795881130566';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "accounts" ("account_id" bigint PRIMARY KEY NOT NULL, "api_key_ciphertext" text, "api_key_fingerprint" varchar(64), "api_key_last4" varchar(4), "user_id_field" varchar(16) NOT NULL, "data_center" varchar(2) NOT NULL, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "dry_run" boolean NOT NULL DEFAULT (0), "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await queryRunner.query(
      'CREATE TABLE "audience_connections" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "audience_name" varchar(255) NOT NULL, "list_id" bigint, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "list_id" bigint NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "state" varchar(16) NOT NULL, "version" integer NOT NULL DEFAULT (1), "attempts" integer NOT NULL DEFAULT (0), "last_error" text, "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships" ("account_id", "list_id", "state") ');
    await queryRunner.query(
      'CREATE TABLE "received_messages" ("account_id" bigint NOT NULL, "message_id" varchar(128) NOT NULL, "change_count" integer NOT NULL, "duplicate_count" integer NOT NULL DEFAULT (0), "received_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "message_id"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "received_messages"');
    await queryRunner.query('DROP INDEX "memberships_pending_by_list"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('DROP TABLE "memberships"');
    await queryRunner.query('DROP TABLE "audience_connections"');
    await queryRunner.query('DROP TABLE "accounts"');
  }
}
