import { getQueueToken } from '@nestjs/bull';
import { Test } from '@nestjs/testing';
import type { Queue } from 'bull';
import { Environment, validateEnvironment } from '@audience-bridge/config';
import { AuditRepository, Database } from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';
import { QUEUES, QueueModule } from '@audience-bridge/queue';
import { AuditRetentionProcessor } from './audit-retention.processor';

const DAY_MS = 24 * 60 * 60 * 1000;

// The daily prune's schedule on real Redis (SQLite behind the audit): it must outlive Redis losing its data.
describe('AuditRetentionProcessor (real Redis)', () => {
  const prefix = `ab-test-retention-${process.pid}-${Date.now()}`;
  let processor: AuditRetentionProcessor;
  let queue: Queue;
  let database: TestDatabase;
  let close: () => Promise<void>;

  beforeAll(async () => {
    AuditRetentionProcessor.RESCHEDULE_MS = 300;
    const created = await createMigratedDataSource('sqlite');
    database = created.database;
    const moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot({ redisUrl: 'redis://127.0.0.1:6379', prefix })],
      providers: [
        AuditRetentionProcessor,
        { provide: Environment, useValue: validateEnvironment({ NODE_ENV: 'test' }) },
        { provide: AuditRepository, useValue: new AuditRepository(new Database(created.dataSource)) },
      ],
    }).compile();
    await moduleRef.init();
    processor = moduleRef.get(AuditRetentionProcessor);
    queue = moduleRef.get(getQueueToken(QUEUES.maintenance));
    close = async () => {
      await queue.obliterate({ force: true });
      await moduleRef.close();
      await created.dataSource.destroy();
      await database.drop();
    };
  });
  afterAll(() => close());

  /** The prune's next run as Redis holds it: the schedule and the one job waiting for its time. */
  async function scheduled(): Promise<{ schedules: number; due: number[] }> {
    const schedules = (await queue.getRepeatableJobs()).length;
    const due = (await queue.getDelayed()).map((job) => job.timestamp + (job.opts.delay ?? 0));
    return { schedules, due };
  }

  it('is scheduled for the next UTC midnight, once however often it is scheduled again', async () => {
    await expect(processor.schedule()).resolves.toBe(true);
    await processor.schedule();
    const { schedules, due } = await scheduled();
    expect(schedules).toBe(1);
    expect(due).toHaveLength(1);
    expect(Math.abs((due[0] as number) - (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS)).toBeLessThan(1000);
  });

  it("is scheduled again after Redis lost the queue's data, by the timer every worker runs", async () => {
    const keys = await queue.client.keys(`${prefix}:${QUEUES.maintenance}:*`);
    await queue.client.del(...keys);
    expect(await scheduled()).toEqual({ schedules: 0, due: [] });
    await new Promise((resolve) => setTimeout(resolve, 3 * AuditRetentionProcessor.RESCHEDULE_MS));
    const { schedules, due } = await scheduled();
    expect(schedules).toBe(1);
    expect(due).toHaveLength(1);
  });
});
