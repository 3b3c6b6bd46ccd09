import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The compact audit (issue 24): the users a list call simply delivered go into one `delivery_successes` row per
 * call, audience and action, holding their keys; `delivery_verdicts` keeps a row per user only for what did not
 * simply succeed. Rows recorded before this migration stay where they are (every reader reads both tables) and
 * leave with the retention prune. Creating an empty table locks nothing else.
 */
export class DeliverySuccesses1797000900000 implements MigrationInterface {
  name = 'DeliverySuccesses1797000900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "delivery_successes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "call_id" varchar(36) NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, "action" varchar(8) NOT NULL, "n" integer NOT NULL, "user_keys" text NOT NULL, "created_at_ms" bigint NOT NULL)',
    );
    await queryRunner.query('CREATE INDEX "delivery_successes_by_time" ON "delivery_successes" ("created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_successes_by_call" ON "delivery_successes" ("call_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "delivery_successes_by_call"');
    await queryRunner.query('DROP INDEX "delivery_successes_by_time"');
    await queryRunner.query('DROP TABLE "delivery_successes"');
  }
}
