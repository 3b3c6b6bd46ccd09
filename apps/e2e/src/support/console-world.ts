import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';
import type { DatabaseDriver } from '@audience-bridge/persistence';

/**
 * What the console suites look at: a real API and worker on a fresh database, the fake Iterable, and traffic
 * that leaves one of everything an operator meets: healthy lists, members Iterable refused (forgotten users),
 * an audience suspended because its list does not exist yet, an audience held without a list.
 */
export interface ConsoleWorld {
  fake: RunningFakeIterable;
  stack: Stack;
  /** Account 2001 (Customer ID mode): "VIP" → lists.vip, "Churn" → lists.churn; 40 users, 3 forgotten by Iterable. */
  healthy: { accountId: number; apiKey: string; lists: { vip: number; churn: number } };
  forgotten: string[];
  /** Account 2002: "Win-back" names a list Iterable does not have yet (suspended until created and resumed). */
  suspended: { accountId: number; apiKey: string; audienceId: number; listId: number };
  /** Account 2003: "No list yet" names no list: its changes are held. */
  held: { accountId: number; audienceId: number; changes: number };
  stop(): Promise<void>;
}

export const userEmail = (i: number) => `user${i}.console@example.com`;

export async function startConsoleWorld(driver: DatabaseDriver): Promise<ConsoleWorld> {
  const fake = await startFakeIterable();
  const stack = await startStack(driver, {
    ITERABLE_API_BASE_URL: fake.url,
    SWEEP_INTERVAL_MS: '300',
    DELIVERY_RETRY_BASE_MS: '100',
    LIST_LEASE_TTL_MS: '3000',
    ITERABLE_LATE_APPLY_WINDOW_MS: '1000',
    ITERABLE_REQUESTS_PER_SECOND: '25',
    LOG_LEVEL: 'warn',
  });
  await stack.startWorker({ LOG_LEVEL: 'warn' });

  const healthyKey = 'console-e2e-key-healthy-000000001';
  const project = fake.state.createProject({ apiKey: healthyKey, type: 'hybrid', dataCenter: 'US' });
  const healthy = {
    accountId: 2001,
    apiKey: healthyKey,
    lists: { vip: fake.state.createList(project, 'VIP').id, churn: fake.state.createList(project, 'Churn').id },
  };
  const forgotten = [userEmail(3), userEmail(7), userEmail(11)];
  fake.state.forget(project, forgotten);

  const suspendedKey = 'console-e2e-key-suspended-0000002';
  fake.state.createProject({ apiKey: suspendedKey, type: 'hybrid', dataCenter: 'US' });
  const suspended = { accountId: 2002, apiKey: suspendedKey, audienceId: 20020, listId: 990_222 };
  const held = { accountId: 2003, audienceId: 20030, changes: 4 };

  const named = (m: Record<string, unknown>, names: Record<number, string>) => {
    for (const p of m['user_profiles'] as { audiences: { audience_id: number; audience_name: string }[] }[]) {
      for (const a of p.audiences) a.audience_name = names[a.audience_id] ?? a.audience_name;
    }
    return m;
  };
  const t0 = Date.now() - 60_000;
  const messages: Record<string, unknown>[] = [];
  // 40 users join VIP; the even ones join Churn too; then users 30..39 leave VIP.
  for (let batch = 0; batch < 4; batch++) {
    const users = Array.from({ length: 10 }, (_, k) => batch * 10 + k);
    messages.push(
      named(
        membershipMessage(
          `console-join-${batch}`,
          t0 + batch * 1000,
          users.map((i) => ({
            mpid: String(2001_000 + i),
            email: userEmail(i),
            customerId: `cust-${i}`,
            audiences: [
              { audienceId: 20010, listId: healthy.lists.vip, action: 'add' as const },
              ...(i % 2 === 0 ? [{ audienceId: 20011, listId: healthy.lists.churn, action: 'add' as const }] : []),
            ],
          })),
          { accountId: healthy.accountId, apiKey: healthy.apiKey, userIdField: 'customerId' },
        ),
        { 20010: 'VIP', 20011: 'Churn' },
      ),
    );
  }
  messages.push(
    named(
      membershipMessage(
        'console-leave',
        t0 + 10_000,
        Array.from({ length: 10 }, (_, k) => 30 + k).map((i) => ({
          mpid: String(2001_000 + i),
          email: userEmail(i),
          customerId: `cust-${i}`,
          audiences: [{ audienceId: 20010, listId: healthy.lists.vip, action: 'delete' as const }],
        })),
        { accountId: healthy.accountId, apiKey: healthy.apiKey, userIdField: 'customerId' },
      ),
      { 20010: 'VIP' },
    ),
  );
  messages.push(
    named(
      membershipMessage(
        'console-winback',
        t0 + 2000,
        Array.from({ length: 5 }, (_, i) => ({
          mpid: String(2002_000 + i),
          email: `winback${i}@example.com`,
          audiences: [{ audienceId: suspended.audienceId, listId: suspended.listId, action: 'add' as const }],
        })),
        { accountId: suspended.accountId, apiKey: suspended.apiKey, userIdField: 'mpid' },
      ),
      { [suspended.audienceId]: 'Win-back' },
    ),
  );
  const heldMessage = membershipMessage('console-held', t0 + 3000, [], { accountId: held.accountId, apiKey: 'console-e2e-key-held-000000000003' });
  heldMessage['user_profiles'] = Array.from({ length: held.changes }, (_, i) => ({
    mpid: String(2003_000 + i),
    user_identities: [{ type: 'email', encoding: 'raw', value: `held${i}@example.com` }],
    audiences: [{ audience_id: held.audienceId, audience_name: 'No list yet', audience_subscription_settings: {}, action: 'add' }],
  }));
  messages.push(heldMessage);
  for (const m of messages) {
    const answer = await stack.send(m);
    if (answer.status !== 200) throw new Error(`message ${String(m['id'])} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  await stack.settled(healthy.accountId, 60_000);
  await waitFor(
    async () => (await stack.admin('GET', `/v1/accounts/${suspended.accountId}/audiences/${suspended.audienceId}`)).body?.status === 'suspended',
    30_000,
  );

  return {
    fake,
    stack,
    healthy,
    forgotten,
    suspended,
    held,
    async stop() {
      await stack.stop();
      await fake.close();
    },
  };
}
