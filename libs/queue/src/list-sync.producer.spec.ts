import { getQueueToken } from '@nestjs/bull';
import { Test } from '@nestjs/testing';
import type { Queue } from 'bull';
import { ListSyncProducer } from './list-sync.producer';
import { QUEUES, SyncListJobData } from './queue.constants';
import { QueueModule } from './queue.module';

describe('ListSyncProducer (real Redis)', () => {
  const prefix = `ab-test-${process.pid}-${Date.now()}`;
  let producer: ListSyncProducer;
  let queue: Queue<SyncListJobData>;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [QueueModule.forRoot({ redisUrl: 'redis://127.0.0.1:6379', prefix })] }).compile();
    await moduleRef.init();
    producer = moduleRef.get(ListSyncProducer);
    queue = moduleRef.get(getQueueToken(QUEUES.listSync));
    close = async () => {
      await queue.obliterate({ force: true });
      await moduleRef.close();
    };
  });
  afterAll(() => close());

  it('collapses a burst of signals for one list into one waiting job, keyed by the list alone', async () => {
    await producer.enqueue([{ listId: 100 }]);
    await producer.enqueue([{ listId: 100 }, { listId: 200 }, { listId: 100 }]);
    await producer.enqueue([{ listId: 100 }]);
    const jobs = await queue.getJobs(['delayed', 'waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['sync-list:100', 'sync-list:200']);
    expect(await producer.depth()).toBe(2);
  });

  it('keeps its keys under the configured prefix', async () => {
    const keys = await queue.client.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await expect(producer.ping()).resolves.toBeUndefined();
  });
});
