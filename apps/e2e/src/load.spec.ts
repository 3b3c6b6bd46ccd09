import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack } from '@audience-bridge/harness';

// Load: 200 concurrent senders for 30 s against the real API (two processes) on PostgreSQL, with the worker
// delivering to the fake Iterable. No 5xx, and no acknowledged change lost: Iterable ends with exactly the
// users whose last acknowledged change was an add.
const SENDERS = 200;
const SECONDS = Number(process.env['LOAD_SECONDS'] ?? 30);
const USERS_PER_SENDER = 5;
const ACCOUNT = 900;
const API_KEY = 'load-test-key-000000000000000000';

describe('load: 200 concurrent senders for 30 s (API, worker, PostgreSQL, fake Iterable)', () => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let listId: number;

  beforeAll(async () => {
    fake = await startFakeIterable();
    const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
    listId = fake.state.createList(project, 'load').id;
    fake.state.setConfig({ maxLoggedRequests: 1000 });
    stack = await startStack('postgres', { API_PROCESSES: '2', ITERABLE_API_BASE_URL: fake.url, ITERABLE_REQUESTS_PER_SECOND: '100', LOG_LEVEL: 'warn' });
    await stack.startWorker({ LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  it('answers every message 200 and loses no change', async () => {
    const statuses = new Map<number | string, number>();
    const lastAcked = new Map<string, 'add' | 'delete'>();
    const deadline = Date.now() + SECONDS * 1000;
    let messages = 0;
    const sender = async (s: number) => {
      for (let seq = 0; Date.now() < deadline; seq++) {
        const action = (seq + s) % 3 === 0 ? ('delete' as const) : ('add' as const);
        const users = Array.from({ length: USERS_PER_SENDER }, (_, i) => `${s}-${(seq + i) % (USERS_PER_SENDER * 2)}`);
        const body = membershipMessage(
          `load-${s}-${seq}`,
          1_700_000_000_000 + seq,
          users.map((u) => ({
            mpid: String(7_000_000 + Number(u.split('-')[0]) * 100 + Number(u.split('-')[1])),
            email: `load-${u}@example.com`,
            audiences: [{ audienceId: 1, listId, action }],
          })),
          { accountId: ACCOUNT, apiKey: API_KEY },
        );
        // A connection error is counted (and fails the test below, with the API's output), then the message is
        // sent again as mParticle would, so the rest of the run still knows what was acknowledged.
        let status: number | string;
        for (;;) {
          try {
            status = (await stack.send(body)).status;
            break;
          } catch (error) {
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            const failure = `network: ${cause?.code ?? cause?.message ?? String(error)}`;
            statuses.set(failure, (statuses.get(failure) ?? 0) + 1);
          }
        }
        messages++;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) for (const u of users) lastAcked.set(u, action);
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
    process.stdout.write(`[load] ${messages} messages from ${SENDERS} senders in ${SECONDS} s: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    if (statuses.size !== 1) process.stdout.write(`[load] API output, last 4000 characters:\n${stack.api.output().slice(-4000)}\n`);
    expect([...statuses.keys()]).toEqual([200]);

    await stack.settled(ACCOUNT, 120_000);
    const expected = new Set([...lastAcked].filter(([, a]) => a === 'add').map(([u]) => `load-${u}@example.com`));
    expect(new Set((fake.state.members(listId) ?? []).map((m) => m.email))).toEqual(expected);
    const [rows] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = ${ACCOUNT}`);
    expect(Number(rows.n)).toBe(lastAcked.size);
  }, 240_000);
});
