import { Environment, validateEnvironment } from '@audience-bridge/config';
import type { AccountsRepository, ErasureRepository, PendingErasure } from '@audience-bridge/persistence';
import type { IterableClientsService } from '../delivery/iterable-clients.service';
import type { WorkerMetrics } from '../metrics/worker-metrics.service';
import { ErasureService } from './erasure.service';

describe('ErasureService when the database fails during a try', () => {
  const erasure: PendingErasure = {
    id: 'e1',
    accountId: 7,
    subject: { emails: ['subject@example.com'], userIds: [], listIds: [], keys: [] } as unknown as PendingErasure['subject'],
    attempts: 2,
    receivedAtMs: 0,
  };

  it('gives the claim back with the backoff once the database takes writes again, not after the two-minute claim', async () => {
    const env: Environment = validateEnvironment({ NODE_ENV: 'test', DELIVERY_RETRY_BASE_MS: '100', DELIVERY_RETRY_MAX_MS: '500', SWEEP_INTERVAL_MS: '60000' });
    const retryLater = jest
      .fn<Promise<void>, [string, string, number]>()
      .mockRejectedValueOnce(new Error('database "ab" is not currently accepting connections'))
      .mockResolvedValue(undefined);
    const erasures = {
      due: jest.fn().mockResolvedValue([erasure]),
      claim: jest.fn().mockResolvedValue(true),
      purgeLate: jest.fn().mockRejectedValue(new Error('terminating connection due to administrator command')),
      retryLater,
    } as unknown as ErasureRepository;
    const service = new ErasureService(env, erasures, {} as AccountsRepository, {} as IterableClientsService, {} as WorkerMetrics);
    const before = Date.now();
    expect(await service.tick()).toBe(0);
    // Tried again until written (the first write failed too), due within the backoff (≤ 500 ms here).
    expect(retryLater).toHaveBeenCalledTimes(2);
    const [id, why, nextAttemptAtMs] = retryLater.mock.calls[1] as [string, string, number];
    expect(id).toBe('e1');
    expect(why).not.toContain('subject@example.com');
    expect(nextAttemptAtMs - before).toBeLessThan(5_000);
  });
});
