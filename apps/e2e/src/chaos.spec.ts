import { Redis } from 'ioredis';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { buildScenario, Stack, startStack } from '@audience-bridge/harness';
import { DRIVERS } from '@audience-bridge/persistence';

// Chaos: two workers, a faulty Iterable, one worker SIGKILLed, an Iterable outage longer than the old
// retry budget, a slow tail whose calls Iterable applies after the client gave up, and the queue's Redis keys
// deleted, while shuffled and duplicated traffic streams in: audiences sharing a list, users whose email
// changes. The lists must end exactly at the newest desired state.
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
      DELIVERY_RETRY_MAX_MS: '1000',
      ITERABLE_TIMEOUT_MS: '1000',
      ITERABLE_LATE_APPLY_WINDOW_MS: '2500',
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
    // Email-based projects: an address change is a new Iterable user, and placeholder emails are theirs.
    const scenarios = accounts.map((a, i) => {
      const project = fake.state.createProject({ apiKey: a.apiKey, type: 'email', dataCenter: 'US' });
      const lists = [fake.state.createList(project, 'one').id, fake.state.createList(project, 'two').id];
      return {
        lists,
        ...buildScenario({
          seed: 100 + i,
          ...a,
          // Audiences 1 and 2 share list one.
          audiences: [
            { audienceId: 1, listId: lists[0] },
            { audienceId: 2, listId: lists[0] },
            { audienceId: 3, listId: lists[1] },
          ],
          users: 150,
          messages: 80,
          profilesPerMessage: 12,
          duplicates: 0.25,
          emailChanges: 0.15,
        }),
      };
    });
    const faults = {
      seed: 5,
      rateLimit: { requestsPerSecond: 8, retryAfterSeconds: 1 },
      errorRates: { status500: 0.05, status503: 0.02 },
      resetRate: 0.01,
      // The slow tail outlasts the client's timeout: Iterable applies those calls after we gave up on them.
      slow: { delayMs: 1400, fraction: 0.08 },
      // Always some of each: calls applied late, and 429s without Retry-After (besides the rate limit's own).
      forced: [
        { times: 3, path: '/api/lists/subscribe', delayMs: 1400 },
        { times: 2, path: '/api/lists/unsubscribe', status: 429 },
      ],
    };
    fake.state.setFaults(faults);

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
    // An outage of 12 s: longer than the whole retry budget of 8 attempts at these settings (about 5 s).
    fake.state.setFaults({ errorRates: { status500: 1 } });
    await send(messages.slice(third, 2 * third));
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    fake.state.setFaults(faults);
    const queueKeys = await redis.keys(`${stack.env['QUEUE_PREFIX']}:*`);
    expect(queueKeys.length).toBeGreaterThan(0);
    await redis.del(...queueKeys);
    await send(messages.slice(2 * third));

    for (const a of accounts) await stack.settled(a.accountId, 90_000);
    fake.state.setFaults({});
    for (const s of scenarios)
      for (const listId of s.lists) expect(new Set((fake.state.members(listId) ?? []).map((m) => m.email))).toEqual(s.expected.get(listId));
    const [failed] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM list_members WHERE state = 'failed'`);
    expect(Number(failed.n)).toBe(0);
    // The chaos did happen: the fake answered with injected faults along the way, and the traffic had moves.
    const injected = new Set(fake.state.requests.map((r) => r.fault).filter(Boolean));
    const moved = fake.state.requests.filter((r) => r.apiPath === '/api/lists/unsubscribe' && JSON.stringify(r.body).includes('"email":"user')).length;
    process.stdout.write(
      `[chaos ${driver}] ${fake.state.requests.length} Iterable calls, faults injected: ${[...injected].join(', ')}; ` +
        `unsubscribe calls naming a former address: ${moved}\n`,
    );
    for (const fault of [/rate limit|forced 429/, /error rate 500/, /slow/]) expect([...injected].some((f) => fault.test(String(f)))).toBe(true);
  }, 180_000);
});
