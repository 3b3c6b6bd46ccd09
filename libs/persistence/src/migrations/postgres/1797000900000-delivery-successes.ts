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
      'CREATE TABLE "delivery_successes" ("id" SERIAL NOT NULL, "call_id" character varying(36) NOT NULL, "account_id" bigint NOT NULL, "audience_id" bigint NOT NULL, "list_id" bigint NOT NULL, "action" character varying(8) NOT NULL, "n" integer NOT NULL, "user_keys" text NOT NULL, "created_at_ms" bigint NOT NULL, CONSTRAINT "PK_eb2aa535e6f25ff059d9fb0e252" PRIMARY KEY ("id"))',
    );
    await queryRunner.query('CREATE INDEX "delivery_successes_by_time" ON "delivery_successes"  ("created_at_ms") ');
    await queryRunner.query('CREATE INDEX "delivery_successes_by_call" ON "delivery_successes"  ("call_id") ');
    // A user's history and an erasure find the rows holding a key: jsonb_path_ops keeps a 4-byte hash per key.
    await queryRunner.query('CREATE INDEX "delivery_successes_by_user_key" ON "delivery_successes" USING gin (("user_keys"::jsonb) jsonb_path_ops)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."delivery_successes_by_user_key"');
    await queryRunner.query('DROP INDEX "public"."delivery_successes_by_call"');
    await queryRunner.query('DROP INDEX "public"."delivery_successes_by_time"');
    await queryRunner.query('DROP TABLE "delivery_successes"');
  }
}
