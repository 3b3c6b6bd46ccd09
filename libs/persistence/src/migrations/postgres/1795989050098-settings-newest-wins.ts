import { MigrationInterface, QueryRunner } from 'typeorm';

export class SettingsNewestWins1795989050098 implements MigrationInterface {
  name = 'SettingsNewestWins1795989050098';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "accounts" ADD "settings_at_ms" bigint NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "accounts" ADD "mparticle_settings" character varying(64)');
    await queryRunner.query('ALTER TABLE "accounts" ADD "overridden_at_ms" bigint');
    await queryRunner.query('ALTER TABLE "audience_connections" ADD "settings_at_ms" bigint NOT NULL DEFAULT \'0\'');
    await queryRunner.query('ALTER TABLE "audience_connections" ADD "mparticle_list_id" bigint');
    await queryRunner.query('ALTER TABLE "audience_connections" ADD "overridden_at_ms" bigint');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "audience_connections" DROP COLUMN "overridden_at_ms"');
    await queryRunner.query('ALTER TABLE "audience_connections" DROP COLUMN "mparticle_list_id"');
    await queryRunner.query('ALTER TABLE "audience_connections" DROP COLUMN "settings_at_ms"');
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "overridden_at_ms"');
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "mparticle_settings"');
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "settings_at_ms"');
  }
}
