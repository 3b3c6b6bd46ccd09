import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795881130566 implements MigrationInterface {
  name = 'InitialSchema1795881130566';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "accounts" ("account_id" bigint NOT NULL, "api_key_ciphertext" text, "api_key_fingerprint" character varying(64), "api_key_last4" character varying(4), "user_id_field" character varying(16) NOT NULL, "data_center" character varying(2) NOT NULL, "status" character varying(16) NOT NULL DEFAULT \'active\', "suspended_reason" text, "dry_run" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_abcd260aa34b3ad2c0ff663dc20" PRIMARY KEY ("account_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "audience_connections" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "audience_name" character varying(255) NOT NULL, "list_id" bigint, "status" character varying(16) NOT NULL DEFAULT \'active\', "suspended_reason" text, "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_2f967d07e3a87391d34acb99e05" PRIMARY KEY ("account_id", "audience_id"))',
    );
    await queryRunner.query(
      'CREATE TABLE "memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" character varying(200) NOT NULL, "list_id" bigint NOT NULL, "mpid" character varying(24), "action" character varying(8) NOT NULL, "email" character varying(320), "user_id" character varying(200), "skip_reason" character varying(32), "source_message_id" character varying(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "state" character varying(16) NOT NULL, "version" integer NOT NULL DEFAULT \'1\', "attempts" integer NOT NULL DEFAULT \'0\', "last_error" text, "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_e4914c3a8cee69655bb37596fda" PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships"  ("mpid") ');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships"  ("account_id", "list_id", "state") ');
    await queryRunner.query(
      'CREATE TABLE "received_messages" ("account_id" bigint NOT NULL, "message_id" character varying(128) NOT NULL, "change_count" integer NOT NULL, "duplicate_count" integer NOT NULL DEFAULT \'0\', "received_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_3b80f9cedbc470a0fbf3e522fb3" PRIMARY KEY ("account_id", "message_id"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "received_messages"');
    await queryRunner.query('DROP INDEX "public"."memberships_pending_by_list"');
    await queryRunner.query('DROP INDEX "public"."memberships_by_mpid"');
    await queryRunner.query('DROP TABLE "memberships"');
    await queryRunner.query('DROP TABLE "audience_connections"');
    await queryRunner.query('DROP TABLE "accounts"');
  }
}
