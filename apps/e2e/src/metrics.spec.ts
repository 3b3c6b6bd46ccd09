import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { ADMIN_TOKEN, INBOUND_TOKEN, membershipMessage, Stack, startStack, waitFor, WORKSPACE_ROOT } from '@audience-bridge/harness';

// /metrics of the API with API_PROCESSES=2 (node:cluster): whichever process answers a scrape, it answers for
// every process (prom-client's AggregatorRegistry in the cluster's primary, asked over IPC), so counters sum
// over both processes, several scrapes agree and counters never fall; gauges read from the database are not
// counted once per process.
const ACCOUNT = 31;
const API_KEY = 'metrics-e2e-key-0000000000000000';

/** One request on a connection of its own (no keep-alive), so the cluster spreads them over its processes. */
function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, connection: 'close' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // As Prometheus gives up on a scrape (its scrape_timeout), so a request that never gets an answer is seen as such.
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of one series of a Prometheus text exposition (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      // pid (comm) state ppid …: the comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Every series name a Prometheus text exposition can carry: a histogram's name_bucket, name_sum and name_count, else its name. */
function servedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

describe('API /metrics with API_PROCESSES=2 (PostgreSQL, Redis, fake Iterable)', () => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  let listId: number;

  beforeAll(async () => {
    fake = await startFakeIterable();
    const project = fake.state.createProject({ apiKey: API_KEY, type: 'hybrid', dataCenter: 'US' });
    listId = fake.state.createList(project, 'metrics').id;
    stack = await startStack('postgres', { API_PROCESSES: '2', ITERABLE_API_BASE_URL: fake.url, LOG_LEVEL: 'log' });
    // Both processes listen (the supervisor's children log it each); a scrape before then answers for those up.
    await stack.api.waitFor(/API listening[\s\S]*API listening/, 30_000);
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
  });

  const scrape = async () => {
    const res = await call(`${stack.apiUrl}/metrics`, 'GET', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    return res.text;
  };
  const send = (i: number) =>
    call(
      `${stack.apiUrl}/v1/mparticle`,
      'POST',
      { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}` },
      JSON.stringify(
        membershipMessage(
          `metrics-${i}`,
          1_700_000_000_000 + i,
          [{ mpid: String(5_000 + i), email: `m${i}@example.com`, audiences: [{ audienceId: 1, listId, action: 'add' }] }],
          {
            accountId: ACCOUNT,
            apiKey: API_KEY,
          },
        ),
      ),
    );
  const MEMBERSHIP_200 = 'audience_bridge_mparticle_messages_total{type="audience_membership_change_request",status="200"}';

  it('sums counters over both processes: every scrape agrees, and no counter falls', async () => {
    const N = 60;
    const seen: number[] = [];
    // Scrapes interleaved with the messages: each sees at least what was answered before it, never less than the last.
    for (let i = 0; i < N; i += 6) {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, k) => send(i + k)));
      for (const a of answers) expect(a.status).toBe(200);
      const value = sample(await scrape(), MEMBERSHIP_200);
      expect(value).toBe(i + 6);
      seen.push(value);
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    // Ten scrapes afterwards, each on a connection of its own (both processes answer some): all say N.
    const texts = await Promise.all(Array.from({ length: 10 }, () => scrape()));
    for (const text of texts) {
      expect(sample(text, MEMBERSHIP_200)).toBe(N);
      expect(sample(text, 'audience_bridge_api_processes')).toBe(2);
    }
  });

  it('reports gauges read from the database once, not once per process', async () => {
    // Past the backlog cache (5 s), so this scrape reads the database now; no worker drains the inbox.
    await new Promise((r) => setTimeout(r, 5_500));
    const [row] = await stack.dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox`);
    const text = await scrape();
    expect(Number(row.n)).toBeGreaterThan(0);
    expect(sample(text, 'audience_bridge_pending_changes')).toBe(Number(row.n));
  });

  it('types every _total series as a counter', async () => {
    const text = await scrape();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    expect(types.length).toBeGreaterThan(10);
    expect(types.filter((t) => t.name.endsWith('_total') && t.type !== 'counter')).toEqual([]);
  });

  it('times every Firehose answer by type and status, middleware refusals included, in buckets around 100 ms', async () => {
    expect((await call(`${stack.apiUrl}/v1/mparticle`, 'POST', { 'content-type': 'text/plain', authorization: `Token ${INBOUND_TOKEN}` }, 'x')).status).toBe(
      415,
    );
    const wrongToken = await call(
      `${stack.apiUrl}/v1/mparticle`,
      'POST',
      { 'content-type': 'application/json', authorization: 'Token wrong-token-wrong-token-0000' },
      JSON.stringify(membershipMessage('metrics-401', 1_700_000_000_000, [], { accountId: ACCOUNT, apiKey: API_KEY })),
    );
    expect(wrongToken.status).toBe(401);
    const text = await scrape();
    const membership = 'type="audience_membership_change_request",status="200"';
    expect(sample(text, `audience_bridge_mparticle_ack_seconds_count{${membership}}`)).toBe(60);
    expect(sample(text, `audience_bridge_mparticle_ack_seconds_bucket{le="+Inf",${membership}}`)).toBe(60);
    const buckets = [
      ...text.matchAll(/^audience_bridge_mparticle_ack_seconds_bucket\{le="([^"]+)",type="audience_membership_change_request",status="200"\} (\d+)$/gm),
    ];
    expect(buckets.map((b) => b[1])).toEqual(['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.15', '0.25', '0.5', '1', '+Inf']);
    const underBudget = sample(text, `audience_bridge_mparticle_ack_seconds_bucket{le="0.1",${membership}}`);
    process.stdout.write(`[metrics] ${underBudget} of 60 membership messages acknowledged within 100 ms (2 API processes)\n`);
    expect(sample(text, 'audience_bridge_mparticle_ack_seconds_count{type="other",status="415"}')).toBe(1);
    expect(sample(text, 'audience_bridge_mparticle_messages_total{type="other",status="415"}')).toBe(1);
    expect(sample(text, 'audience_bridge_mparticle_ack_seconds_count{type="audience_membership_change_request",status="401"}')).toBe(1);
  });

  it('shows suspended connections, failing lists and held changes from the database', async () => {
    // A list whose calls fail (500), an account whose key Iterable refuses (suspended), an audience naming no list (held).
    fake.state.setFaults({ forced: [{ apiKey: API_KEY, status: 500, times: 100_000 }] });
    const refusedKey = 'metrics-e2e-unknown-key-00000000';
    const answers = await Promise.all([
      send(1000),
      call(
        `${stack.apiUrl}/v1/mparticle`,
        'POST',
        { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}` },
        JSON.stringify(
          membershipMessage(
            'metrics-refused',
            1_700_000_000_000,
            [{ mpid: '7001', email: 'r@example.com', audiences: [{ audienceId: 2, listId: listId + 1000, action: 'add' }] }],
            {
              accountId: ACCOUNT + 1,
              apiKey: refusedKey,
            },
          ),
        ),
      ),
      call(
        `${stack.apiUrl}/v1/mparticle`,
        'POST',
        { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}` },
        JSON.stringify({
          ...membershipMessage('metrics-held', 1_700_000_000_000, [], { accountId: ACCOUNT, apiKey: API_KEY }),
          user_profiles: [
            {
              mpid: '7002',
              user_identities: [{ type: 'email', encoding: 'raw', value: 'h@example.com' }],
              audiences: [{ audience_id: 9, audience_name: 'No list', action: 'add' }],
            },
          ],
        }),
      ),
    ]);
    for (const a of answers) expect(a.status).toBe(200);
    await stack.startWorker({ LOG_LEVEL: 'log', DELIVERY_RETRY_BASE_MS: '200' });
    let text = '';
    await waitFor(
      async () => {
        text = await scrape();
        return (
          sample(text, 'audience_bridge_suspended_connections{scope="account"}') === 1 &&
          sample(text, 'audience_bridge_failing_lists') === 1 &&
          sample(text, 'audience_bridge_failing_seconds') > 0 &&
          sample(text, 'audience_bridge_held_changes') === 1
        );
      },
      30_000,
      500,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}:\n${text
          .split('\n')
          .filter((l) => /^audience_bridge_(suspended|failing|held)/.test(l))
          .join('\n')}`,
      );
    });
    expect(sample(text, 'audience_bridge_suspended_connections{scope="audience"}')).toBe(0);
    // The same figures as /v1/stats.
    const stats = (await stack.admin('GET', '/v1/stats')).body;
    expect(stats).toMatchObject({ suspendedAccounts: 1, suspendedAudiences: 0, failingLists: 1, heldWithoutList: 1 });
  });

  it('serves every metric the alerts and the Grafana dashboard use (API and worker), so they cannot drift; worker _total series are counters', async () => {
    expect(stack.workerPorts).toHaveLength(1); // started by the test before
    const workerText = await (await fetch(`http://127.0.0.1:${stack.workerPorts[0]}/metrics`)).text();
    const served = new Set([...servedNames(await scrape()), ...servedNames(workerText)]);
    // The worker's own /metrics too: every _total series a counter.
    const workerTypes = [...workerText.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    expect(workerTypes.filter((t) => t.name.endsWith('_total') && t.type !== 'counter')).toEqual([]);
    const used = (file: string) => new Set(readFileSync(join(WORKSPACE_ROOT, file), 'utf8').match(/\baudience_bridge_[a-z0-9_]+/g) ?? []);
    const alerts = used('deploy/prometheus/alerts.yml');
    const dashboard = used('deploy/grafana/audience-bridge.json');
    expect(alerts.size).toBeGreaterThanOrEqual(4);
    expect(dashboard.size).toBeGreaterThanOrEqual(15);
    expect([...alerts].filter((name) => !served.has(name))).toEqual([]);
    expect([...dashboard].filter((name) => !served.has(name))).toEqual([]);
  });

  it('keeps answering when an API process dies: the primary starts another, and the scrape says how many answered', async () => {
    const children = childrenOf(stack.api.child.pid ?? 0);
    expect(children).toHaveLength(2);
    const before = sample(await scrape(), MEMBERSHIP_200);
    process.kill(children[0], 'SIGKILL');
    const started = Date.now();
    const statuses: number[] = [];
    let processes = 0;
    await waitFor(
      async () => {
        const t0 = Date.now();
        const res = await call(`${stack.apiUrl}/metrics`, 'GET', { authorization: `Bearer ${ADMIN_TOKEN}` }).catch((error: Error) => {
          process.stdout.write(`[metrics] ${error.message} (${Date.now() - t0} ms)\n`);
          return { status: 0, text: '' };
        });
        statuses.push(res.status);
        processes = res.status === 200 ? sample(res.text, 'audience_bridge_api_processes') : 0;
        return processes === 2 && childrenOf(stack.api.child.pid ?? 0).length === 2;
      },
      30_000,
      200,
    );
    const after = sample(await scrape(), MEMBERSHIP_200);
    process.stdout.write(
      `[metrics] one of 2 API processes killed: ${((Date.now() - started) / 1000).toFixed(1)} s until both answer again; ` +
        `scrape answers meanwhile ${JSON.stringify(statuses.reduce<Record<number, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}))}; ` +
        `messages counter ${before} before, ${after} after (the dead process's counts went with it: a counter reset to Prometheus)\n`,
    );
    // Never a 500: the figures of the processes that answer, or 503 when one that looked alive did not answer within
    // 5 s; or no answer at all (0) for a connection node:cluster's primary handed to the process the moment it was
    // killed, which happens to any route (/health/live alike), not to /metrics alone.
    expect(statuses.filter((s) => s !== 200 && s !== 503 && s !== 0)).toEqual([]);
    expect(statuses.at(-1)).toBe(200);
    expect(after).toBeLessThanOrEqual(before);
  });
});
