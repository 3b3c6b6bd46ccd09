import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drift repair of extra members only when they are ours: `list_members.ever_subscribed` (Iterable once confirmed
 * a subscribe we sent; filled from the members subscribed now and the delivery audit's delivered adds), the
 * account's `drift_settings.repair_extras` (`ours` by default) and, per report, the choice and the extras kept.
 */
export class DriftRepairExtras1797000241500 implements MigrationInterface {
  name = 'DriftRepairExtras1797000241500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "list_members" ADD COLUMN "ever_subscribed" boolean NOT NULL DEFAULT (0)');
    await queryRunner.query(`UPDATE "list_members" SET "ever_subscribed" = 1 WHERE "state" = 'subscribed'`);
    await queryRunner.query(
      `UPDATE "list_members" SET "ever_subscribed" = 1 WHERE "ever_subscribed" = 0 AND ("list_id", "member_key") IN ` +
        `(SELECT "list_id", "email" FROM "delivery_verdicts" WHERE "action" = 'add' AND "outcome" = 'delivered' AND "email" IS NOT NULL)`,
    );
    await queryRunner.query('ALTER TABLE "drift_settings" ADD COLUMN "repair_extras" varchar(8) NOT NULL DEFAULT (\'ours\')');
    await queryRunner.query('ALTER TABLE "drift_reports" ADD COLUMN "repair_extras" varchar(8)');
    await queryRunner.query('ALTER TABLE "drift_reports" ADD COLUMN "extra_kept" integer NOT NULL DEFAULT (0)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "drift_reports" DROP COLUMN "extra_kept"');
    await queryRunner.query('ALTER TABLE "drift_reports" DROP COLUMN "repair_extras"');
    await queryRunner.query('ALTER TABLE "drift_settings" DROP COLUMN "repair_extras"');
    await queryRunner.query('ALTER TABLE "list_members" DROP COLUMN "ever_subscribed"');
  }
}
