import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { ADMIN_TOKEN, INBOUND_TOKEN, buildScenario, membershipMessage, startStack } from '@audience-bridge/harness';

// npm run demo — the whole service on this machine: the fake Iterable, the API and the worker on SQLite,
// realistic mParticle traffic for two accounts (both identity modes, users without email, a few invalid
// emails, shuffled and duplicated messages), then each list's members and an audit summary. The apps keep
// running afterwards, for a look at /docs, /v1/stats and /metrics; Ctrl-C stops everything.
const PORT = process.env['PORT'] ?? '3000';
const WORKER_PORT = process.env['WORKER_PORT'] ?? '3001';
const FAKE_PORT = Number(process.env['FAKE_ITERABLE_PORT'] ?? 4010);

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  say('starting the fake Iterable, the API and the worker (SQLite, Redis at REDIS_URL or 127.0.0.1:6379)…');
  const fake = await startFakeIterable({ port: FAKE_PORT });
  const accounts = [
    { accountId: 1001, apiKey: 'demo-key-retail-customer-id-0001', userIdField: 'customerId' as const, audiences: ['VIP customers', 'Churn risk'] },
    { accountId: 1002, apiKey: 'demo-key-app-mparticle-id-000002', userIdField: 'mpid' as const, audiences: ['Active app users'] },
  ];
  const setup = accounts.map((a) => {
    const project = fake.state.createProject({ apiKey: a.apiKey, type: 'hybrid', dataCenter: 'US' });
    return { ...a, lists: a.audiences.map((name, i) => ({ audienceId: a.accountId * 10 + i, name, listId: fake.state.createList(project, name).id })) };
  });
  const stack = await startStack('sqlite', {
    PORT,
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: '20',
    SWEEP_INTERVAL_MS: '1000',
    LOG_LEVEL: 'warn',
    ...(process.env['REDIS_URL'] ? { REDIS_URL: process.env['REDIS_URL'] } : {}),
  });
  await stack.startWorker({ WORKER_PORT, LOG_LEVEL: 'warn' });
  const stopAll = async () => {
    await stack.stop();
    await fake.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());

  const registration = await stack.send({ type: 'module_registration_request', id: 'demo-registration', timestamp_ms: Date.now(), firehose_version: '3.2.0' }, null);
  say(`registration: ${registration.body.name} ${registration.body.version} (settings: ${registration.body.audience_processing_registration.account_settings.map((s: { id: string }) => s.id).join(', ')})`);
  for (const a of setup) {
    for (const l of a.lists) {
      await stack.send({
        type: 'audience_subscription_request', id: `demo-sub-${l.audienceId}`, timestamp_ms: Date.now(), firehose_version: '3.2.0',
        account: { account_id: a.accountId, account_settings: { apiKey: a.apiKey, userIdField: a.userIdField } },
        audience_id: l.audienceId, audience_name: l.name, audience_subscription_settings: { listId: String(l.listId) }, action: 'add',
      });
      say(`audience subscription: account ${a.accountId} "${l.name}" → Iterable list ${l.listId} (${a.userIdField} mode)`);
    }
  }

  const scenarios = setup.map((a, i) =>
    buildScenario({
      seed: 42 + i, accountId: a.accountId, apiKey: a.apiKey, userIdField: a.userIdField,
      audiences: a.lists.map((l) => ({ audienceId: l.audienceId, listId: l.listId })),
      users: 1500, messages: 80, profilesPerMessage: 20, withoutEmail: 0.1, duplicates: 0.15,
    }),
  );
  const invalid = membershipMessage('demo-invalid-emails', Date.now(), ['not-an-email', 'two@@example.com', 'space in@example.com'].map((email, i) => ({
    mpid: String(5_000_000 + i), email, customerId: `bad-${i}`, audiences: [{ audienceId: setup[0].lists[0].audienceId, listId: setup[0].lists[0].listId, action: 'add' as const }],
  })), { accountId: 1001, apiKey: setup[0].apiKey });
  const messages = [...scenarios[0].messages, ...scenarios[1].messages, invalid];
  const changes = scenarios.reduce((n, s) => n + s.changes, 0) + 3;
  const repeats = messages.length - new Set(messages.map((m) => m['id'])).size;
  say(`sending ${messages.length} membership messages (${changes} changes, shuffled, ${repeats} of them repeats)…`);
  for (let i = 0; i < messages.length; i += 10) {
    await Promise.all(messages.slice(i, i + 10).map((m) => stack.send(m)));
    if ((i / 10) % 4 === 0) {
      const stats = (await stack.admin('GET', '/v1/stats')).body;
      say(`  sent ${Math.min(i + 10, messages.length)}/${messages.length}; pending ${stats.pending}, subscribed ${stats.members.subscribed}, Iterable calls ${stats.iterable.calls}`);
    }
  }
  for (const a of setup) await stack.settled(a.accountId, 120_000);

  say('\nIterable lists (fake Iterable), members now vs the newest desired state:');
  for (const [i, a] of setup.entries()) {
    for (const l of a.lists) {
      const members = fake.state.members(l.listId) ?? [];
      const placeholders = members.filter((m) => m.email?.endsWith('@placeholder.email')).length;
      say(`  ${a.accountId} "${l.name}" (list ${l.listId}): ${members.length} members, expected ${scenarios[i].expected.get(l.listId)?.size}${placeholders ? `, ${placeholders} with a placeholder email` : ''}`);
    }
  }
  const stats = (await stack.admin('GET', '/v1/stats')).body;
  const skipped = await stack.dataSource.query(`SELECT skip_reason AS reason, COUNT(*) AS n FROM memberships WHERE skip_reason IS NOT NULL GROUP BY skip_reason`);
  const calls = (await stack.admin('GET', '/v1/deliveries?limit=500')).body.items as { subscriberCount: number }[];
  say('\naudit summary:');
  say(`  messages accepted ${stats.messagesAccepted}, duplicates acknowledged without effect ${stats.duplicates}`);
  say(`  list members by what Iterable has: ${Object.entries(stats.members).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  say(`  not sendable (kept as desired state, never sent): ${skipped.map((s: { reason: string; n: number }) => `${s.reason} ${s.n}`).join(', ')}`);
  say(`  Iterable calls ${stats.iterable.calls} (${stats.iterable.failedCalls} failed), average ${Math.round(calls.reduce((n, c) => n + c.subscriberCount, 0) / Math.max(1, calls.length))} subscribers per call`);

  say(`\nrunning (Ctrl-C stops everything):
  API          ${stack.apiUrl}   OpenAPI ${stack.apiUrl}/docs   stats ${stack.apiUrl}/v1/stats   metrics ${stack.apiUrl}/metrics
  worker       http://127.0.0.1:${WORKER_PORT}/metrics
  fake Iterable ${fake.url}/_fake/lists/${setup[0].lists[0].listId}/members
  tokens       admin: Authorization: Bearer ${ADMIN_TOKEN}   mParticle: Authorization: Token ${INBOUND_TOKEN}
  try          curl -H 'Authorization: Bearer ${ADMIN_TOKEN}' ${stack.apiUrl}/v1/users/${1001 * 1_000_000 + 1}/memberships`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
