import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `list_members_by_user`: a list's members by userId. Unsubscribing a member by its userId in a hybrid or
 * userId-based project takes off every member of the list with that userId (the same Iterable user under another
 * email); settling the call finds them through this index and sends their newest state again.
 */
export class ListMembersByUser1797000600000 implements MigrationInterface {
  name = 'ListMembersByUser1797000600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "list_members_by_user" ON "list_members"  ("list_id", "user_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "list_members_by_user"');
  }
}
