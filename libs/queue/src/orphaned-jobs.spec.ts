import { getQueueToken } from '@nestjs/bull';
import { Test } from '@nestjs/testing';
import type { Queue } from 'bull';
import { DRIFT_CHECK_QUEUE, DriftCheckProducer, DriftQueueModule, driftCheckJobId } from './drift-check.queue';
import { ListSyncProducer } from './list-sync.producer';
import { clearOrphanedJob } from './orphaned-jobs';
import { QUEUES, syncListJobId } from './queue.constants';
import { QueueModule } from './queue.module';
import { REDIS_STATE, isJobStateError } from './redis-watch';
import type { DependencyState } from '@audience-bridge/config';

/**
 * The hash Bull leaves when Redis loses the queue's keys between a worker taking a job and marking it active
 * (seen in the model checker's seed 608): marking writes processedOn into a hash that is gone, and failing the
 * nameless job writes its attempt, and neither puts it in any state.
 */
async function orphan(queue: Queue, jobId: string): Promise<void> {
  const key = queue.toKey(jobId);
  await queue.client.del(key);
  await queue.client.hset(key, 'processedOn', Date.now(), 'attemptsMade', 1, 'failedReason', 'Missing process handler for job type __default__');
}

describe('orphaned job ids (real Redis)', () => {
  const prefix = `ab-test-orphans-${process.pid}-${Date.now()}`;
  let drift: DriftCheckProducer;
  let lists: ListSyncProducer;
  let driftQueue: Queue;
  let listQueue: Queue;
  let redisState: DependencyState;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot({ redisUrl: 'redis://127.0.0.1:6379', prefix }), DriftQueueModule.register()],
    }).compile();
    await moduleRef.init();
    drift = moduleRef.get(DriftCheckProducer);
    lists = moduleRef.get(ListSyncProducer);
    driftQueue = moduleRef.get(getQueueToken(DRIFT_CHECK_QUEUE));
    listQueue = moduleRef.get(getQueueToken(QUEUES.listSync));
    redisState = moduleRef.get(REDIS_STATE);
    close = async () => {
      await driftQueue.obliterate({ force: true });
      await listQueue.obliterate({ force: true });
      await moduleRef.close();
    };
  });
  afterAll(() => close());

  it('signals a drift check again although a nameless hash in no state holds its job id', async () => {
    const id = driftCheckJobId({ reportId: 7 });
    await orphan(driftQueue, id);
    await drift.enqueue({ reportId: 7 });
    const job = await driftQueue.getJob(id);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.name).toBe('drift-check');
    expect(job?.data).toEqual({ reportId: 7 });
  });

  it('signals a drift check again when its full job lost its place in the queue', async () => {
    const id = driftCheckJobId({ reportId: 8 });
    await drift.enqueue({ reportId: 8 });
    await driftQueue.client.lrem(driftQueue.toKey('wait'), 0, id);
    expect(await (await driftQueue.getJob(id))?.getState()).toBe('stuck');
    await drift.enqueue({ reportId: 8 });
    expect(await (await driftQueue.getJob(id))?.getState()).toBe('waiting');
  });

  it("a sweep frees a list's usual job id, so the API's next signal is a job again", async () => {
    const id = syncListJobId({ listId: 41 });
    await orphan(listQueue, id);
    await lists.enqueueSweep([{ listId: 41 }], 1);
    await lists.enqueue([{ listId: 41 }], 0);
    expect(await (await listQueue.getJob(id))?.getState()).toBe('waiting');
  });

  it('leaves jobs that are waiting, delayed or held by a worker alone', async () => {
    await drift.enqueue({ reportId: 9 });
    const waiting = await driftQueue.getJob(driftCheckJobId({ reportId: 9 }));
    expect(await clearOrphanedJob(driftQueue, driftCheckJobId({ reportId: 9 }))).toBe(false);
    await lists.enqueue([{ listId: 42 }], 60_000);
    expect(await clearOrphanedJob(listQueue, syncListJobId({ listId: 42 }))).toBe(false);
    expect(await (await listQueue.getJob(syncListJobId({ listId: 42 })))?.getState()).toBe('delayed');
    // A worker's lock: the job is being handled even if a lost key took it out of the active list.
    await orphan(driftQueue, 'held');
    await driftQueue.client.set(`${driftQueue.toKey('held')}:lock`, 'a-worker');
    expect(await clearOrphanedJob(driftQueue, 'held')).toBe(false);
    expect(await driftQueue.client.exists(driftQueue.toKey('held'))).toBe(1);
    // The waiting job is the one first added, not a new one.
    expect((await driftQueue.getJob(driftCheckJobId({ reportId: 9 })))?.timestamp).toBe(waiting?.timestamp);
    expect(await clearOrphanedJob(driftQueue, 'never-added')).toBe(false);
  });

  it("a job whose keys vanished while it ran is Bull's complaint about that job, not Redis down", async () => {
    const errors: unknown[] = [];
    listQueue.on('error', (error: unknown) => errors.push(error));
    const done = new Promise<void>((resolve) => listQueue.once('error', () => resolve()));
    void listQueue.process('vanishing', async (job) => {
      await listQueue.client.del(listQueue.toKey(String(job.id)), `${listQueue.toKey(String(job.id))}:lock`);
    });
    await listQueue.add('vanishing', {}, { jobId: 'vanishing-1' });
    await done;
    expect(String(errors[0])).toMatch(/Missing (key|lock) for job vanishing-1/);
    expect(isJobStateError(errors[0])).toBe(true);
    expect(redisState.isDown).toBe(false);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(isJobStateError(refused)).toBe(false);
  });
});
