import { MigrationInterface, QueryRunner } from 'typeorm';

export class StateModelSplit1795988370655 implements MigrationInterface {
  name = 'StateModelSplit1795988370655';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."memberships_pending_by_list"');
    await queryRunner.query('DROP INDEX "public"."memberships_due"');
    await queryRunner.query(
      'CREATE TABLE "list_members" ("list_id" bigint NOT NULL, "member_key" character varying(320) NOT NULL, "email" character varying(320) NOT NULL, "user_id" character varying(200), "state" character varying(16) NOT NULL, "reason" character varying(64), "recheck_at_ms" bigint, "updated_at_ms" bigint NOT NULL, CONSTRAINT "PK_655e6d53c04ead142e84ef0805a" PRIMARY KEY ("list_id", "member_key"))',
    );
    await queryRunner.query('CREATE INDEX "list_members_by_state" ON "list_members"  ("list_id", "state") ');
    await queryRunner.query('CREATE INDEX "list_members_recheck" ON "list_members"  ("recheck_at_ms") ');
    await queryRunner.query(
      'CREATE TABLE "sync_inbox" ("id" SERIAL NOT NULL, "list_id" bigint NOT NULL, "member_key" character varying(320), "created_at_ms" bigint NOT NULL, CONSTRAINT "PK_ee88e64ea5c053ccaa8e4b89241" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('ALTER SEQUENCE "sync_inbox_id_seq" CYCLE');
    await queryRunner.query('CREATE INDEX "sync_inbox_by_list" ON "sync_inbox"  ("list_id", "id") ');
    // Carry the old state over: confirmed members into list_members, everything else into the inbox.
    await queryRunner.query('DELETE FROM list_leases');
    await queryRunner.query(
      "INSERT INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) SELECT DISTINCT ON (list_id, email) list_id, email, email, user_id, CASE WHEN action = 'add' THEN 'subscribed' ELSE 'unsubscribed' END, NULL, NULL, (EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000)::bigint FROM memberships WHERE state = 'delivered' AND email IS NOT NULL ORDER BY list_id, email, timestamp_ms DESC",
    );
    await queryRunner.query(
      "INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT list_id, email, (EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000)::bigint FROM memberships WHERE state <> 'delivered' AND email IS NOT NULL",
    );
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "list_id"');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "state"');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "attempts"');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "last_error"');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "next_attempt_at"');
    await queryRunner.query('ALTER TABLE "list_leases" ADD "generation" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "list_leases" ADD "attempts" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "list_leases" ADD "next_attempt_at" bigint');
    await queryRunner.query('ALTER TABLE "list_leases" ADD "failing_since" bigint');
    await queryRunner.query('ALTER TABLE "list_leases" ADD "last_error" text');
    await queryRunner.query('ALTER TABLE "memberships" ADD "prev_email" character varying(320)');
    await queryRunner.query('ALTER TABLE "list_leases" ALTER COLUMN "holder" DROP NOT NULL');
    await queryRunner.query('ALTER TABLE "list_leases" DROP CONSTRAINT "PK_efe1955473fa145c17c27fc9d48"');
    await queryRunner.query('ALTER TABLE "list_leases" ALTER COLUMN "account_id" DROP NOT NULL');
    await queryRunner.query('ALTER TABLE "list_leases" ADD CONSTRAINT "PK_ecc5b31e0af7442c31656111655" PRIMARY KEY ("list_id")');
    await queryRunner.query('CREATE INDEX "memberships_by_email" ON "memberships"  ("email") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."memberships_by_email"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP CONSTRAINT "PK_ecc5b31e0af7442c31656111655"');
    await queryRunner.query('ALTER TABLE "list_leases" ADD CONSTRAINT "PK_efe1955473fa145c17c27fc9d48" PRIMARY KEY ("account_id", "list_id")');
    await queryRunner.query('ALTER TABLE "list_leases" ALTER COLUMN "account_id" SET NOT NULL');
    await queryRunner.query('ALTER TABLE "list_leases" ALTER COLUMN "holder" SET NOT NULL');
    await queryRunner.query('ALTER TABLE "memberships" DROP COLUMN "prev_email"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "last_error"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "failing_since"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "next_attempt_at"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "attempts"');
    await queryRunner.query('ALTER TABLE "list_leases" DROP COLUMN "generation"');
    await queryRunner.query('ALTER TABLE "memberships" ADD "next_attempt_at" bigint');
    await queryRunner.query('ALTER TABLE "memberships" ADD "last_error" text');
    await queryRunner.query('ALTER TABLE "memberships" ADD "attempts" integer NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "memberships" ADD "state" character varying(16) NOT NULL');
    await queryRunner.query('ALTER TABLE "memberships" ADD "list_id" bigint NOT NULL');
    await queryRunner.query('DROP INDEX "public"."sync_inbox_by_list"');
    await queryRunner.query('DROP TABLE "sync_inbox"');
    await queryRunner.query('DROP INDEX "public"."list_members_recheck"');
    await queryRunner.query('DROP INDEX "public"."list_members_by_state"');
    await queryRunner.query('DROP TABLE "list_members"');
    await queryRunner.query('CREATE INDEX "memberships_due" ON "memberships" USING btree ("state", "next_attempt_at") ');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships" USING btree ("account_id", "list_id", "state") ');
  }
}
