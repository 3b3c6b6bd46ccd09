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
    const statuses = new Map<number, number>();
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
        const res = await stack.send(body);
        messages++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) for (const u of users) lastAcked.set(u, action);
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
    process.stdout.write(`[load] ${messages} messages from ${SENDERS} senders in ${SECONDS} s: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect([...statuses.keys()]).toEqual([200]);

    await stack.settled(ACCOUNT, 120_000);
    const expected = new Set([...lastAcked].filter(([, a]) => a === 'add').map(([u]) => `load-${u}@example.com`));
    expect(new Set((fake.state.members(listId) ?? []).map((m) => m.email))).toEqual(expected);
    const [rows] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = ${ACCOUNT}`);
    expect(Number(rows.n)).toBe(lastAcked.size);
  }, 240_000);
});
