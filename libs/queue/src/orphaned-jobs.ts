import type { Queue } from 'bull';

/**
 * Deletes the job `jobId` when its hash is in none of the queue's states (waiting, active, paused, delayed,
 * completed, failed) and no worker holds its lock; answers whether it did.
 *
 * Such an orphan blocks its id for good: Bull's add of a job id that exists is a no-op, so a fixed id (one
 * drift check per report, one usual signal per list) would never be signalled again. Bull leaves one when
 * Redis loses the queue's keys between a worker taking the job (BRPOPLPUSH) and marking it active: the
 * marking writes `processedOn` into a hash that is gone, which makes a new hash with no name or data; the
 * worker fails it ("missing process handler"), and failing it cannot finish (its lock is gone too), so the
 * hash stays in no set. A job whose set entry was lost while its hash survived is the same kind of orphan.
 * One script: a job moves between states only inside Bull's own scripts, so it is never seen in between.
 */
const CLEAR_ORPHAN = `
if redis.call("EXISTS", KEYS[1]) == 0 or redis.call("EXISTS", KEYS[2]) == 1 then return 0 end
for i = 3, 5 do if redis.call("LPOS", KEYS[i], ARGV[1]) then return 0 end end
for i = 6, 8 do if redis.call("ZSCORE", KEYS[i], ARGV[1]) then return 0 end end
redis.call("DEL", KEYS[1], KEYS[9])
return 1`;

export async function clearOrphanedJob(queue: Queue, jobId: string): Promise<boolean> {
  const job = queue.toKey(jobId);
  const states = ['wait', 'active', 'paused', 'delayed', 'completed', 'failed'].map((state) => queue.toKey(state));
  const keys = [job, `${job}:lock`, ...states, `${job}:logs`];
  return (await queue.client.eval(CLEAR_ORPHAN, keys.length, ...keys, jobId)) === 1;
}
