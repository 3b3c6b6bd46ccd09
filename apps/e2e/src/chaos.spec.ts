import { Redis } from 'ioredis';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { buildScenario, Stack, startStack } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

// Chaos: two workers, a faulty Iterable, one worker SIGKILLed and the queue's Redis keys deleted while
// shuffled and duplicated traffic streams in. The lists must end exactly at the newest desired state.
describe.each(DRIVERS)('chaos on %s', (driver) => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let redis: Redis;

  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack(driver, {
      ITERABLE_API_BASE_URL: fake.url,
      SWEEP_INTERVAL_MS: '500',
      DELIVERY_RETRY_BASE_MS: '100',
      DELIVERY_MAX_ATTEMPTS: '50',
      LIST_LEASE_TTL_MS: '2000',
      ITERABLE_REQUESTS_PER_SECOND: '200',
      LOG_LEVEL: 'warn',
    });
    await stack.startWorker();
    await stack.startWorker();
    redis = new Redis(stack.env['REDIS_URL']);
  });
  afterAll(async () => {
    redis.disconnect();
    await stack.stop();
    await fake.close();
  });

  it('ends with exactly the newest state in both identity modes', async () => {
    const accounts = [
      { accountId: 501, apiKey: 'chaos-key-customer-0000000000', userIdField: 'customerId' as const },
      { accountId: 502, apiKey: 'chaos-key-mpid-00000000000000', userIdField: 'mpid' as const },
    ];
    const scenarios = accounts.map((a, i) => {
      const project = fake.state.createProject({ apiKey: a.apiKey, type: 'hybrid', dataCenter: 'US' });
      const lists = [fake.state.createList(project, 'one').id, fake.state.createList(project, 'two').id, fake.state.createList(project, 'three').id];
      return {
        lists,
        ...buildScenario({
          seed: 100 + i, ...a,
          audiences: lists.map((listId, k) => ({ audienceId: k + 1, listId })),
          users: 150, messages: 80, profilesPerMessage: 12, duplicates: 0.25,
        }),
      };
    });
    fake.state.setFaults({
      seed: 5,
      rateLimit: { requestsPerSecond: 8, retryAfterSeconds: 1 },
      errorRates: { status500: 0.05, status503: 0.02 },
      resetRate: 0.01,
      slow: { delayMs: 200, fraction: 0.1 },
    });

    // Interleave both accounts' (shuffled, duplicated) messages and stream them in.
    const messages = scenarios[0].messages.flatMap((m, i) => [m, scenarios[1].messages[i]].filter(Boolean));
    messages.push(...scenarios[1].messages.slice(scenarios[0].messages.length));
    const third = Math.floor(messages.length / 3);
    const send = async (batch: unknown[]) => {
      for (let i = 0; i < batch.length; i += 6) {
        const answers = await Promise.all(batch.slice(i, i + 6).map((m) => stack.send(m)));
        for (const a of answers) expect(a.status).toBe(200);
      }
    };

    await send(messages.slice(0, third));
    expect(await stack.workers[1].stop('SIGKILL')).toBe('SIGKILL');
    await send(messages.slice(third, 2 * third));
    const queueKeys = await redis.keys(`${stack.env['QUEUE_PREFIX']}:*`);
    expect(queueKeys.length).toBeGreaterThan(0);
    await redis.del(...queueKeys);
    await send(messages.slice(2 * third));

    for (const a of accounts) await stack.settled(a.accountId, 90_000);
    fake.state.setFaults({});
    for (const s of scenarios) for (const listId of s.lists) expect(new Set((fake.state.members(listId) ?? []).map((m) => m.email))).toEqual(s.expected.get(listId));
    const [failed] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE state = 'failed'`);
    expect(Number(failed.n)).toBe(0);
    // The chaos did happen: the fake answered with injected faults along the way.
    const faults = new Set(fake.state.requests.map((r) => r.fault).filter(Boolean));
    process.stdout.write(`[chaos ${driver}] ${fake.state.requests.length} Iterable calls, faults injected: ${[...faults].join(', ')}\n`);
    expect(faults).toContain('rate limit');
    expect(faults.size).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
