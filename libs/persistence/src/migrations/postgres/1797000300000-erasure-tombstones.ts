import { MigrationInterface, QueryRunner } from 'typeorm';

/** What stays of an erased subject: a keyed hash per identifier and the erasure's time (README "Erasure"). */
export class ErasureTombstones1797000300000 implements MigrationInterface {
  name = 'ErasureTombstones1797000300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "erasure_tombstones" ("account_id" bigint NOT NULL, "identity_hash" character varying(64) NOT NULL, "erased_at_ms" bigint NOT NULL, CONSTRAINT "PK_erasure_tombstones" PRIMARY KEY ("account_id", "identity_hash"))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "erasure_tombstones"');
  }
}
