import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `message_counts`: membership messages remembered per account and the repeats of them, kept by triggers on
 * `received_messages` (one writer at a time on SQLite: each row's change updates its account's count directly), so
 * `/v1/stats` reads a few rows instead of counting every message id. `message_count_changes` exists for the same
 * schema as PostgreSQL and stays empty here.
 */
export class MessageCounts1797001000000 implements MigrationInterface {
  name = 'MessageCounts1797001000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "message_counts" ("account_id" bigint PRIMARY KEY NOT NULL, "accepted" bigint NOT NULL, "duplicates" bigint NOT NULL)',
    );
    await queryRunner.query(
      'CREATE TABLE "message_count_changes" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" bigint NOT NULL, "accepted" bigint NOT NULL, "duplicates" bigint NOT NULL)',
    );
    const add = (who: 'NEW' | 'OLD', accepted: string, duplicates: string) =>
      `INSERT INTO message_counts (account_id, accepted, duplicates) VALUES (${who}.account_id, ${accepted}, ${duplicates}) ` +
      `ON CONFLICT (account_id) DO UPDATE SET accepted = message_counts.accepted + excluded.accepted, duplicates = message_counts.duplicates + excluded.duplicates;`;
    await queryRunner.query(`CREATE TRIGGER message_counts_insert AFTER INSERT ON received_messages BEGIN ${add('NEW', '1', 'NEW.duplicate_count')} END`);
    await queryRunner.query(
      `CREATE TRIGGER message_counts_update AFTER UPDATE OF duplicate_count ON received_messages
       WHEN OLD.duplicate_count IS NOT NEW.duplicate_count BEGIN ${add('NEW', '0', 'NEW.duplicate_count - OLD.duplicate_count')} END`,
    );
    await queryRunner.query(`CREATE TRIGGER message_counts_delete AFTER DELETE ON received_messages BEGIN ${add('OLD', '-1', '-OLD.duplicate_count')} END`);
    await queryRunner.query(
      'INSERT INTO message_counts (account_id, accepted, duplicates) SELECT account_id, COUNT(*), COALESCE(SUM(duplicate_count), 0) FROM received_messages GROUP BY account_id',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER message_counts_delete');
    await queryRunner.query('DROP TRIGGER message_counts_update');
    await queryRunner.query('DROP TRIGGER message_counts_insert');
    await queryRunner.query('DROP TABLE "message_count_changes"');
    await queryRunner.query('DROP TABLE "message_counts"');
  }
}
