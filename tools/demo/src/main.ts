import { startFakeIterable } from '@audience-bridge/fake-iterable';
import { ADMIN_TOKEN, INBOUND_TOKEN, buildScenario, membershipMessage, startStack, waitFor } from '@audience-bridge/harness';

// npm run demo — the whole service on this machine: the fake Iterable, the API and the worker on SQLite,
// realistic mParticle traffic for two accounts (both identity modes, users without email, a few invalid
// emails, users Iterable has forgotten, shuffled and duplicated messages), then each list's members and an
// audit summary. Two more accounts show what goes wrong: one audience names a list Iterable does not have
// (suspended), one names no list (held), and one account runs in dry run. Then a list is edited behind our back in
// the fake Iterable: a drift check reports it and a second one repairs it. The apps keep running afterwards,
// with a trickle of live traffic, for a look at the operations console (/), /docs, /v1/stats and /metrics;
// Ctrl-C stops everything.
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
  // Users Iterable has GDPR-forgotten: their adds are refused for good (failed members, replayable).
  const forgotten = Array.from({ length: 12 }, (_, i) => `user${i * 37 + 5}.a1001@example.com`);
  fake.state.forget(fake.state.projectFor(setup[0].apiKey), forgotten);
  // Account 1003: one audience names a list Iterable does not have, one names no list at all.
  const troubled = { accountId: 1003, apiKey: 'demo-key-mobile-troubled-00000003', userIdField: 'customerId' as const };
  const troubledProject = fake.state.createProject({ apiKey: troubled.apiKey, type: 'hybrid', dataCenter: 'US' });
  const troubledList = fake.state.createList(troubledProject, 'Lapsed buyers (fixed)').id;
  const missingList = 990_001;
  // Account 1004: dry run (calls recorded with each user's would-be verdict, nothing sent).
  const trial = { accountId: 1004, apiKey: 'demo-key-trial-dry-run-0000000004', userIdField: 'mpid' as const, audienceId: 10040, listId: 0 };
  trial.listId = fake.state.createList(fake.state.createProject({ apiKey: trial.apiKey, type: 'hybrid', dataCenter: 'US' }), 'Trial users').id;

  const stack = await startStack('sqlite', {
    PORT,
    ITERABLE_API_BASE_URL: fake.url,
    ITERABLE_REQUESTS_PER_SECOND: '20',
    SWEEP_INTERVAL_MS: '1000',
    // A drift check leaves out members delivered this recently (5 minutes by default): short here, so the demo's check runs at once.
    DRIFT_SETTLE_MS: '5000',
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

  const registration = await stack.send(
    { type: 'module_registration_request', id: 'demo-registration', timestamp_ms: Date.now(), firehose_version: '3.2.0' },
    null,
  );
  say(
    `registration: ${registration.body.name} ${registration.body.version} (settings: ` +
      `${registration.body.audience_processing_registration.account_settings.map((s: { id: string }) => s.id).join(', ')})`,
  );
  for (const a of setup) {
    for (const l of a.lists) {
      await stack.send({
        type: 'audience_subscription_request',
        id: `demo-sub-${l.audienceId}`,
        timestamp_ms: Date.now(),
        firehose_version: '3.2.0',
        account: { account_id: a.accountId, account_settings: { apiKey: a.apiKey, userIdField: a.userIdField } },
        audience_id: l.audienceId,
        audience_name: l.name,
        audience_subscription_settings: { listId: String(l.listId) },
        action: 'add',
      });
      say(`audience subscription: account ${a.accountId} "${l.name}" → Iterable list ${l.listId} (${a.userIdField} mode)`);
    }
  }

  // Account 1004 in dry run before its first change; account 1003's audiences: an unknown list and none at all.
  await stack.send(
    membershipMessage('demo-trial-0', Date.now() - 60_000, [], { accountId: trial.accountId, apiKey: trial.apiKey, userIdField: trial.userIdField }),
  );
  await stack.admin('PUT', `/v1/accounts/${trial.accountId}`, { dryRun: true });
  const trialMessage = membershipMessage(
    'demo-trial-1',
    Date.now() - 30_000,
    Array.from({ length: 40 }, (_, i) => ({
      mpid: String(4_000_000 + i),
      ...(i % 3 ? { email: `trial${i}@example.com` } : {}),
      audiences: [{ audienceId: trial.audienceId, listId: trial.listId, action: 'add' as const }],
    })),
    { accountId: trial.accountId, apiKey: trial.apiKey, userIdField: trial.userIdField },
  );
  const troubledProfiles = (audienceId: number, listId: number | null, count: number, offset: number) =>
    Array.from({ length: count }, (_, i) => ({
      mpid: String(3_000_000 + offset + i),
      user_identities: [
        { type: 'email', encoding: 'raw', value: `mobile${offset + i}@example.com` },
        { type: 'customer', encoding: 'raw', value: `m-${offset + i}` },
      ],
      audiences: [
        {
          audience_id: audienceId,
          audience_name: listId === null ? 'Newsletter (no list yet)' : 'Lapsed buyers',
          audience_subscription_settings: listId === null ? {} : { listId: String(listId) },
          action: 'add',
        },
      ],
    }));
  const troubledMessage: Record<string, unknown> = {
    ...membershipMessage('demo-troubled-1', Date.now() - 20_000, [], {
      accountId: troubled.accountId,
      apiKey: troubled.apiKey,
      userIdField: troubled.userIdField,
    }),
    user_profiles: [...troubledProfiles(10030, missingList, 25, 0), ...troubledProfiles(10031, null, 18, 100)],
  };

  const scenarios = setup.map((a, i) =>
    buildScenario({
      seed: 42 + i,
      accountId: a.accountId,
      apiKey: a.apiKey,
      userIdField: a.userIdField,
      audiences: a.lists.map((l) => ({ audienceId: l.audienceId, listId: l.listId })),
      users: 1500,
      messages: 80,
      profilesPerMessage: 20,
      withoutEmail: 0.1,
      duplicates: 0.15,
    }),
  );
  const invalid = membershipMessage(
    'demo-invalid-emails',
    Date.now(),
    ['not-an-email', 'two@@example.com', 'space in@example.com'].map((email, i) => ({
      mpid: String(5_000_000 + i),
      email,
      customerId: `bad-${i}`,
      audiences: [{ audienceId: setup[0].lists[0].audienceId, listId: setup[0].lists[0].listId, action: 'add' as const }],
    })),
    { accountId: 1001, apiKey: setup[0].apiKey },
  );
  // mParticle names each audience in every message: the names the subscriptions gave.
  const names = new Map<number, string>([
    ...setup.flatMap((a) => a.lists.map((l) => [l.audienceId, l.name] as [number, string])),
    [trial.audienceId, 'Trial users'],
  ]);
  const named = (m: Record<string, unknown>) => {
    for (const p of m['user_profiles'] as { audiences: { audience_id: number; audience_name: string }[] }[]) {
      for (const a of p.audiences) a.audience_name = names.get(a.audience_id) ?? a.audience_name;
    }
    return m;
  };
  for (const m of [...scenarios[0].messages, ...scenarios[1].messages, invalid, trialMessage]) named(m);
  const messages = [...scenarios[0].messages, ...scenarios[1].messages, invalid, trialMessage, troubledMessage];
  const changes = scenarios.reduce((n, s) => n + s.changes, 0) + 3 + 40 + 43;
  const repeats = messages.length - new Set(messages.map((m) => m['id'])).size;
  say(`sending ${messages.length} membership messages (${changes} changes, shuffled, ${repeats} of them repeats)…`);
  for (let i = 0; i < messages.length; i += 10) {
    await Promise.all(messages.slice(i, i + 10).map((m) => stack.send(m)));
    if ((i / 10) % 4 === 0) {
      const stats = (await stack.admin('GET', '/v1/stats')).body;
      say(
        `  sent ${Math.min(i + 10, messages.length)}/${messages.length}; pending ${stats.pending}, subscribed ${stats.members.subscribed}, ` +
          `Iterable calls ${stats.iterable.calls}`,
      );
    }
  }
  for (const a of setup) await stack.settled(a.accountId, 120_000);
  // Account 1003's list is missing: on the third invalidListId in a row (30-60 s) the audience is suspended (what the console shows first).
  await waitFor(async () => (await stack.admin('GET', `/v1/accounts/${troubled.accountId}/audiences/10030`)).body?.status === 'suspended', 90_000).catch(
    () => undefined,
  );

  say('\nIterable lists (fake Iterable), members now vs the newest desired state:');
  for (const [i, a] of setup.entries()) {
    for (const l of a.lists) {
      const members = fake.state.members(l.listId) ?? [];
      const placeholders = members.filter((m) => m.email?.endsWith('@placeholder.email')).length;
      const refused = (await stack.dataSource.query(`SELECT COUNT(*) AS n FROM list_members WHERE list_id = ${Number(l.listId)} AND state = 'failed'`))[0].n;
      say(
        `  ${a.accountId} "${l.name}" (list ${l.listId}): ${members.length} members, ` +
          `expected ${scenarios[i].expected.get(l.listId)?.size}${Number(refused) ? ` (${refused} refused by Iterable: forgotten users)` : ''}` +
          `${placeholders ? `, ${placeholders} with a placeholder email` : ''}`,
      );
    }
  }
  const stats = (await stack.admin('GET', '/v1/stats')).body;
  const skipped = await stack.dataSource.query(
    `SELECT skip_reason AS reason, COUNT(*) AS n FROM memberships WHERE skip_reason IS NOT NULL GROUP BY skip_reason`,
  );
  const calls = (await stack.admin('GET', '/v1/deliveries?limit=500')).body.items as { subscriberCount: number }[];
  say('\naudit summary:');
  say(`  messages accepted ${stats.messagesAccepted}, duplicates acknowledged without effect ${stats.duplicates}`);
  say(
    `  list members by what Iterable has: ${Object.entries(stats.members)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  say(`  not sendable (kept as desired state, never sent): ${skipped.map((s: { reason: string; n: number }) => `${s.reason} ${s.n}`).join(', ')}`);
  say(
    `  Iterable calls ${stats.iterable.calls} (${stats.iterable.failedCalls} failed), ` +
      `average ${Math.round(calls.reduce((n, c) => n + c.subscriberCount, 0) / Math.max(1, calls.length))} subscribers per call`,
  );

  const connections = (await stack.admin('GET', '/v1/connections')).body.items as {
    accountId: number;
    audienceName: string;
    status: string;
    reason: string | null;
    held: number;
  }[];
  say('  needs attention (the console shows these first):');
  for (const c of connections.filter((r) => r.status !== 'active')) {
    say(`    account ${c.accountId} "${c.audienceName}": ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.held ? `, ${c.held} held changes` : ''}`);
  }
  say(`    ${stats.members.failed} members Iterable refused (forgotten users): replay them from the console's Connections page`);
  say(`    to fix the suspended audience: PUT /v1/accounts/${troubled.accountId}/audiences/10030 {"listId": ${troubledList}}, then Resume`);

  // Drift: someone edits a list in Iterable's UI behind our back; a check finds it, a repair puts it right.
  const vip = setup[0].lists[0];
  const onList = (fake.state.members(vip.listId) ?? []).map((m) => m.email as string).sort();
  fake.state.operatorEdit(vip.listId, {
    add: [{ email: 'walk-in.1@example.net' }, { email: 'walk-in.2@example.net' }, { email: 'walk-in.3@example.net' }],
    remove: onList.slice(0, 2).map((email) => ({ email })),
  });
  say(`\ndrift: someone added 3 people to "${vip.name}" (list ${vip.listId}) in Iterable and removed 2 (${onList.slice(0, 2).join(', ')})`);
  await new Promise((resolve) => setTimeout(resolve, 5500));
  const driftPath = `/v1/accounts/${setup[0].accountId}/lists/${vip.listId}/drift-check`;
  const driftCheck = async (repair: boolean) => {
    // The walk-ins were added by hand: only repairExtras "all" removes them (the default, "ours", keeps what we never subscribed).
    const { body: asked } = await stack.admin('POST', driftPath, repair ? { repair, repairExtras: 'all' } : { repair });
    let report = asked;
    await waitFor(async () => (report = (await stack.admin('GET', driftPath)).body).state !== 'running' && report.id === asked.id, 60_000, 200);
    return report;
  };
  const found = await driftCheck(false);
  say(
    `  POST ${driftPath} {"repair": false} → ${found.state}: ${found.missing} missing (${found.missingSample.join(', ')}), ` +
      `${found.extra} extra (${found.extraSample.join(', ')}),`,
  );
  say(
    `    ${found.refused} refused by Iterable for good (known, replayable: not drift), ${found.leftOut} in flight; ` +
      `Iterable has ${found.iterableMembers}, the desired state ${found.desiredMembers}`,
  );
  const repaired = await driftCheck(true);
  await stack.settled(setup[0].accountId, 60_000);
  const exact =
    (fake.state.members(vip.listId) ?? [])
      .map((m) => m.email as string)
      .sort()
      .join() === onList.join();
  say(
    `  POST ${driftPath} {"repair": true, "repairExtras": "all"} → ${repaired.repaired} members sent through delivery (audit reason "drift repair"); ` +
      `the list is ${exact ? 'exact again' : 'NOT exact'}`,
  );

  const lookups: { email: string }[] = await stack.dataSource.query(
    `SELECT email FROM (SELECT member_key AS email FROM list_members WHERE state = 'failed' ORDER BY member_key LIMIT 1) f
     UNION ALL SELECT email FROM (SELECT email FROM memberships WHERE account_id = 1001 AND email IS NOT NULL AND action = 'add' ORDER BY email LIMIT 1) m`,
  );
  // A trickle of live traffic, so the console's figures move: a few adds and deletes every 15 s.
  let tick = 0;
  const trickle = setInterval(() => {
    tick++;
    const users = Array.from({ length: 6 }, (_, i) => ({
      mpid: String(1001 * 1_000_000 + ((tick * 7 + i * 13) % 1500)),
      email: `user${(tick * 7 + i * 13) % 1500}.a1001@example.com`,
      customerId: `c-1001-${(tick * 7 + i * 13) % 1500}`,
    }));
    const message = membershipMessage(
      `demo-live-${tick}`,
      Date.now(),
      users.map((u, i) => ({
        ...u,
        audiences: [
          { audienceId: setup[0].lists[i % 2].audienceId, listId: setup[0].lists[i % 2].listId, action: i % 3 === 0 ? ('delete' as const) : ('add' as const) },
        ],
      })),
      { accountId: 1001, apiKey: setup[0].apiKey },
    );
    void stack.send(named(message)).catch(() => undefined);
  }, 15_000);
  trickle.unref();

  say(`\nrunning (Ctrl-C stops everything):
  console      http://localhost:${PORT}/   sign in with the admin token below
  API          ${stack.apiUrl}   OpenAPI ${stack.apiUrl}/docs   stats ${stack.apiUrl}/v1/stats   metrics ${stack.apiUrl}/metrics
  worker       http://127.0.0.1:${WORKER_PORT}/metrics
  fake Iterable ${fake.url}/_fake/lists/${setup[0].lists[0].listId}/members
  tokens       admin: Authorization: Bearer ${ADMIN_TOKEN}   mParticle: Authorization: Token ${INBOUND_TOKEN}
  try          curl -H 'Authorization: Bearer ${ADMIN_TOKEN}' ${stack.apiUrl}/v1/users/${1001 * 1_000_000 + 1}/memberships
  drift check  curl -X POST -H 'Authorization: Bearer ${ADMIN_TOKEN}' -H 'Content-Type: application/json' -d '{"repair": false}' ${stack.apiUrl}${driftPath}
               then GET the same URL for the report (Iterable's getUsers allows 5 reads a minute per project)
  look up      ${lookups.map((l) => l.email).join(', ')} (console: User lookup, by email)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
