import { MigrationInterface, QueryRunner } from 'typeorm';

export class ErasureRequests1796000230960 implements MigrationInterface {
  name = 'ErasureRequests1796000230960';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "erasure_requests" ("id" varchar(36) PRIMARY KEY NOT NULL, "account_id" bigint NOT NULL, "subject_request_id" varchar(128) NOT NULL, "state" varchar(16) NOT NULL, "subject" text, "memberships_removed" integer NOT NULL DEFAULT (0), "forget_calls" integer NOT NULL DEFAULT (0), "attempts" integer NOT NULL DEFAULT (0), "last_error" varchar(255), "received_at_ms" bigint NOT NULL, "next_attempt_at_ms" bigint NOT NULL, "completed_at_ms" bigint)',
    );
    await queryRunner.query('CREATE INDEX "erasure_requests_by_state" ON "erasure_requests" ("state", "next_attempt_at_ms") ');
    await queryRunner.query('CREATE UNIQUE INDEX "erasure_requests_by_request" ON "erasure_requests" ("account_id", "subject_request_id") ');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "erasure_requests_by_request"');
    await queryRunner.query('DROP INDEX "erasure_requests_by_state"');
    await queryRunner.query('DROP TABLE "erasure_requests"');
  }
}
