import { MigrationInterface, QueryRunner } from 'typeorm';

export class StateModelSplit1795988370655 implements MigrationInterface {
  name = 'StateModelSplit1795988370655';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "memberships_due"');
    await queryRunner.query('DROP INDEX "memberships_pending_by_list"');
    await queryRunner.query(
      'CREATE TABLE "list_members" ("list_id" bigint NOT NULL, "member_key" varchar(320) NOT NULL, "email" varchar(320) NOT NULL, "user_id" varchar(200), "state" varchar(16) NOT NULL, "reason" varchar(64), "recheck_at_ms" bigint, "updated_at_ms" bigint NOT NULL, PRIMARY KEY ("list_id", "member_key"))',
    );
    await queryRunner.query('CREATE INDEX "list_members_by_state" ON "list_members" ("list_id", "state") ');
    await queryRunner.query('CREATE INDEX "list_members_recheck" ON "list_members" ("recheck_at_ms") ');
    await queryRunner.query(
      'CREATE TABLE "sync_inbox" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "list_id" bigint NOT NULL, "member_key" varchar(320), "created_at_ms" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "sync_inbox_by_list" ON "sync_inbox" ("list_id", "id") ');
    // Carry the old state over: confirmed members into list_members, everything else into the inbox.
    await queryRunner.query('DELETE FROM list_leases');
    await queryRunner.query(
      "INSERT OR IGNORE INTO list_members (list_id, member_key, email, user_id, state, reason, recheck_at_ms, updated_at_ms) SELECT list_id, email, email, user_id, CASE WHEN action = 'add' THEN 'subscribed' ELSE 'unsubscribed' END, NULL, NULL, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM memberships WHERE state = 'delivered' AND email IS NOT NULL ORDER BY timestamp_ms DESC",
    );
    await queryRunner.query(
      "INSERT INTO sync_inbox (list_id, member_key, created_at_ms) SELECT list_id, email, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM memberships WHERE state <> 'delivered' AND email IS NOT NULL",
    );
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query(
      'CREATE TABLE "temporary_memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "version" integer NOT NULL DEFAULT (1), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_memberships"("account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at") SELECT "account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at" FROM "memberships"',
    );
    await queryRunner.query('DROP TABLE "memberships"');
    await queryRunner.query('ALTER TABLE "temporary_memberships" RENAME TO "memberships"');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query(
      'CREATE TABLE "temporary_list_leases" ("account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "holder" varchar(64) NOT NULL, "expires_at" bigint NOT NULL, "generation" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint, "failing_since" bigint, "last_error" text, PRIMARY KEY ("account_id", "list_id"))',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_list_leases"("account_id", "list_id", "holder", "expires_at") SELECT "account_id", "list_id", "holder", "expires_at" FROM "list_leases"',
    );
    await queryRunner.query('DROP TABLE "list_leases"');
    await queryRunner.query('ALTER TABLE "temporary_list_leases" RENAME TO "list_leases"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query(
      'CREATE TABLE "temporary_memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "version" integer NOT NULL DEFAULT (1), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "prev_email" varchar(320), PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_memberships"("account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at") SELECT "account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at" FROM "memberships"',
    );
    await queryRunner.query('DROP TABLE "memberships"');
    await queryRunner.query('ALTER TABLE "temporary_memberships" RENAME TO "memberships"');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query(
      'CREATE TABLE "temporary_list_leases" ("account_id" bigint, "list_id" bigint PRIMARY KEY NOT NULL, "holder" varchar(64), "expires_at" bigint NOT NULL, "generation" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint, "failing_since" bigint, "last_error" text)',
    );
    await queryRunner.query(
      'INSERT INTO "temporary_list_leases"("account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error") SELECT "account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error" FROM "list_leases"',
    );
    await queryRunner.query('DROP TABLE "list_leases"');
    await queryRunner.query('ALTER TABLE "temporary_list_leases" RENAME TO "list_leases"');
    await queryRunner.query('CREATE INDEX "memberships_by_email" ON "memberships" ("email") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "memberships_by_email"');
    await queryRunner.query('ALTER TABLE "list_leases" RENAME TO "temporary_list_leases"');
    await queryRunner.query(
      'CREATE TABLE "list_leases" ("account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "holder" varchar(64) NOT NULL, "expires_at" bigint NOT NULL, "generation" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" bigint, "failing_since" bigint, "last_error" text, PRIMARY KEY ("account_id", "list_id"))',
    );
    await queryRunner.query(
      'INSERT INTO "list_leases"("account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error") SELECT "account_id", "list_id", "holder", "expires_at", "generation", "attempts", "next_attempt_at", "failing_since", "last_error" FROM "temporary_list_leases"',
    );
    await queryRunner.query('DROP TABLE "temporary_list_leases"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('ALTER TABLE "memberships" RENAME TO "temporary_memberships"');
    await queryRunner.query(
      'CREATE TABLE "memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "version" integer NOT NULL DEFAULT (1), "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "memberships"("account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at") SELECT "account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at" FROM "temporary_memberships"',
    );
    await queryRunner.query('DROP TABLE "temporary_memberships"');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('ALTER TABLE "list_leases" RENAME TO "temporary_list_leases"');
    await queryRunner.query(
      'CREATE TABLE "list_leases" ("account_id" bigint NOT NULL, "list_id" bigint NOT NULL, "holder" varchar(64) NOT NULL, "expires_at" bigint NOT NULL, PRIMARY KEY ("account_id", "list_id"))',
    );
    await queryRunner.query(
      'INSERT INTO "list_leases"("account_id", "list_id", "holder", "expires_at") SELECT "account_id", "list_id", "holder", "expires_at" FROM "temporary_list_leases"',
    );
    await queryRunner.query('DROP TABLE "temporary_list_leases"');
    await queryRunner.query('DROP INDEX "memberships_by_mpid"');
    await queryRunner.query('ALTER TABLE "memberships" RENAME TO "temporary_memberships"');
    await queryRunner.query(
      'CREATE TABLE "memberships" ("account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "user_key" varchar(200) NOT NULL, "list_id" bigint NOT NULL, "mpid" varchar(24), "action" varchar(8) NOT NULL, "email" varchar(320), "user_id" varchar(200), "skip_reason" varchar(32), "source_message_id" varchar(128) NOT NULL, "timestamp_ms" bigint NOT NULL, "state" varchar(16) NOT NULL, "version" integer NOT NULL DEFAULT (1), "attempts" integer NOT NULL DEFAULT (0), "last_error" text, "updated_at" datetime NOT NULL DEFAULT (datetime(\'now\')), "next_attempt_at" bigint, PRIMARY KEY ("account_id", "audience_id", "user_key"))',
    );
    await queryRunner.query(
      'INSERT INTO "memberships"("account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at") SELECT "account_id", "audience_id", "user_key", "mpid", "action", "email", "user_id", "skip_reason", "source_message_id", "timestamp_ms", "version", "updated_at" FROM "temporary_memberships"',
    );
    await queryRunner.query('DROP TABLE "temporary_memberships"');
    await queryRunner.query('CREATE INDEX "memberships_by_mpid" ON "memberships" ("mpid") ');
    await queryRunner.query('DROP INDEX "sync_inbox_by_list"');
    await queryRunner.query('DROP TABLE "sync_inbox"');
    await queryRunner.query('DROP INDEX "list_members_recheck"');
    await queryRunner.query('DROP INDEX "list_members_by_state"');
    await queryRunner.query('DROP TABLE "list_members"');
    await queryRunner.query('CREATE INDEX "memberships_pending_by_list" ON "memberships" ("account_id", "list_id", "state") ');
    await queryRunner.query('CREATE INDEX "memberships_due" ON "memberships" ("state", "next_attempt_at") ');
  }
}
