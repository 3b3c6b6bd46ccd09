import { MigrationInterface, QueryRunner } from 'typeorm';

export class SettingsNewestWins1795989050098 implements MigrationInterface {
  name = 'SettingsNewestWins1795989050098';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "temporary_accounts" ("account_id" bigint PRIMARY KEY NOT NULL, "api_key_ciphertext" text, "api_key_fingerprint" varchar(64), "api_key_last4" varchar(4), "user_id_field" varchar(16) NOT NULL, "data_center" varchar(2) NOT NULL, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "dry_run" boolean NOT NULL DEFAULT (0), "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "settings_at_ms" bigint NOT NULL DEFAULT (0), "mparticle_settings" varchar(64), "overridden_at_ms" bigint)',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_accounts"("account_id", "api_key_ciphertext", "api_key_fingerprint", "api_key_last4", "user_id_field", "data_center", "status", "suspended_reason", "dry_run", "created_at", "updated_at") SELECT "account_id", "api_key_ciphertext", "api_key_fingerprint", "api_key_last4", "user_id_field", "data_center", "status", "suspended_reason", "dry_run", "created_at", "updated_at" FROM "accounts"',
    );
    await queryRunner.query('DROP TABLE "accounts"');
    await queryRunner.query('ALTER TABLE "temporary_accounts" RENAME TO "accounts"');
    await queryRunner.query(
      'CREATE TABLE "temporary_audience_connections" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "audience_name" varchar(255) NOT NULL, "list_id" bigint, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "settings_at_ms" bigint NOT NULL DEFAULT (0), "mparticle_list_id" bigint, "overridden_at_ms" bigint, PRIMARY KEY ("account_id", "audience_id"))',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_audience_connections"("account_id", "audience_id", "audience_name", "list_id", "status", "suspended_reason", "created_at", "updated_at") SELECT "account_id", "audience_id", "audience_name", "list_id", "status", "suspended_reason", "created_at", "updated_at" FROM "audience_connections"',
    );
    await queryRunner.query('DROP TABLE "audience_connections"');
    await queryRunner.query('ALTER TABLE "temporary_audience_connections" RENAME TO "audience_connections"');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "audience_connections" RENAME TO "temporary_audience_connections"');
    await queryRunner.query(
      'CREATE TABLE "audience_connections" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "audience_name" varchar(255) NOT NULL, "list_id" bigint, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id"))',
    );
    await queryRunner.query(
      'INSERT INTO "audience_connections"("account_id", "audience_id", "audience_name", "list_id", "status", "suspended_reason", "created_at", "updated_at") SELECT "account_id", "audience_id", "audience_name", "list_id", "status", "suspended_reason", "created_at", "updated_at" FROM "temporary_audience_connections"',
    );
    await queryRunner.query('DROP TABLE "temporary_audience_connections"');
    await queryRunner.query('ALTER TABLE "accounts" RENAME TO "temporary_accounts"');
    await queryRunner.query(
      'CREATE TABLE "accounts" ("account_id" bigint PRIMARY KEY NOT NULL, "api_key_ciphertext" text, "api_key_fingerprint" varchar(64), "api_key_last4" varchar(4), "user_id_field" varchar(16) NOT NULL, "data_center" varchar(2) NOT NULL, "status" varchar(16) NOT NULL DEFAULT (\'active\'), "suspended_reason" text, "dry_run" boolean NOT NULL DEFAULT (0), "created_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')))',
    );
    await queryRunner.query(
      'INSERT INTO "accounts"("account_id", "api_key_ciphertext", "api_key_fingerprint", "api_key_last4", "user_id_field", "data_center", "status", "suspended_reason", "dry_run", "created_at", "updated_at") SELECT "account_id", "api_key_ciphertext", "api_key_fingerprint", "api_key_last4", "user_id_field", "data_center", "status", "suspended_reason", "dry_run", "created_at", "updated_at" FROM "temporary_accounts"',
    );
    await queryRunner.query('DROP TABLE "temporary_accounts"');
  }
}
