import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lists created for audiences (issue 22 §3): one claim row per (Iterable project, list name), so creation is
 * single-flight across processes and machines, and the connection each list was made for (README "Lists created
 * for you").
 */
export class CreatedLists1797000400000 implements MigrationInterface {
  name = 'CreatedLists1797000400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "created_lists" ("project" character varying(64) NOT NULL, "name" character varying(255) NOT NULL, "list_id" bigint, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "holder" character varying(32) NOT NULL, "claimed_at_ms" bigint NOT NULL, "state" character varying(8) NOT NULL, CONSTRAINT "PK_7dd5aabca2cd369bf665dac4761" PRIMARY KEY ("project", "name"))',
    );
    await queryRunner.query('CREATE INDEX "created_lists_by_list" ON "created_lists"  ("list_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."created_lists_by_list"');
    await queryRunner.query('DROP TABLE "created_lists"');
  }
}
