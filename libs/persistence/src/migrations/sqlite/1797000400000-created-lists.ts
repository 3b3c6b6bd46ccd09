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
      'CREATE TABLE "created_lists" ("project" varchar(64) NOT NULL, "name" varchar(255) NOT NULL, "list_id" bigint, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "holder" varchar(32) NOT NULL, "claimed_at_ms" bigint NOT NULL, "state" varchar(8) NOT NULL, PRIMARY KEY ("project", "name"))',
    );
    await queryRunner.query('CREATE INDEX "created_lists_by_list" ON "created_lists" ("list_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "created_lists_by_list"');
    await queryRunner.query('DROP TABLE "created_lists"');
  }
}
