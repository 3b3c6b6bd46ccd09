import { randomUUID } from 'node:crypto';
import { startFakeIterable, RunningFakeIterable } from '@audience-bridge/fake-iterable';
import { INBOUND_TOKEN, membershipMessage, Stack, startStack, waitFor } from '@audience-bridge/harness';

// README "Logs": each log line of a request, a list delivery or a job carries its correlation id (JSON logs:
// `correlationId`), a request's from its `x-request-id` when sensible (else a new one), answered in `x-request-id`.
describe('correlation ids in the logs (API and worker processes, JSON logs)', () => {
  let fake: RunningFakeIterable;
  let stack: Stack;
  beforeAll(async () => {
    fake = await startFakeIterable();
    stack = await startStack('sqlite', { ITERABLE_API_BASE_URL: fake.url, LOG_FORMAT: 'json', SWEEP_INTERVAL_MS: '300' });
    await stack.startWorker();
  });
  afterAll(async () => {
    await stack.stop();
    await fake.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.apiUrl}/v1/mparticle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Token ${INBOUND_TOKEN}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const lines = (output: string) =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { message?: unknown; correlationId?: string; context?: string });

  it("carries a request's x-request-id on the log lines it causes and answers it; a hostile one is replaced", async () => {
    const apiKey = `corr-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'email', dataCenter: 'US' });
    const listId = fake.state.createList(project, 'corr').id;
    const subscription = {
      type: 'audience_subscription_request',
      id: randomUUID(),
      timestamp_ms: Date.now() - 1000,
      firehose_version: '3.2.0',
      account: { account_id: 4401, account_settings: { apiKey, userIdField: 'customerId' } },
      audience_id: 1,
      audience_name: 'Audience 1',
      audience_subscription_settings: { listId: String(listId) },
      action: 'add',
    };
    const answer = await post(subscription, { 'x-request-id': 'mp-corr-0001' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-request-id')).toBe('mp-corr-0001');
    await waitFor(async () => lines(stack.api.output()).some((l) => String(l.message).includes('audience subscription add: account 4401')), 5000);
    const logged = lines(stack.api.output()).find((l) => String(l.message).includes('audience subscription add: account 4401'));
    expect(logged?.correlationId).toBe('mp-corr-0001');

    // A value that is not a sensible token (spaces, quotes, too long) is not echoed: the request gets an id of its own.
    for (const hostile of ['a b"c', 'x'.repeat(200)]) {
      const refused = await post({ ...subscription, id: randomUUID() }, { 'x-request-id': hostile });
      expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Without one, and for a body refused before it is read (415), an id is still answered.
    const plain = await post('not json', { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // And for a URL the HTTP server refuses before any route (a broken percent-escape): the API's JSON error, an id.
    const badUrl = await fetch(`${stack.apiUrl}/v1/audit/users/%E0%A4%A`, { headers: { 'x-request-id': 'mp-corr-0002' } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.headers.get('x-request-id')).toBe('mp-corr-0002');
    expect(await badUrl.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/not a valid url/) });
  });

  it("carries the job's id on a list delivery's log lines in the worker", async () => {
    const apiKey = `corr-key-${randomUUID()}`;
    const project = fake.state.createProject({ apiKey, type: 'email', dataCenter: 'US' });
    const listId = fake.state.createList(project, 'corr jobs').id;
    const message = membershipMessage(
      randomUUID(),
      Date.now() - 1000,
      [{ mpid: '77', email: 'corr@example.com', customerId: 'c-77', audiences: [{ audienceId: 1, listId, action: 'add' }] }],
      {
        accountId: 4402,
        apiKey,
      },
    );
    expect((await stack.send(message)).status).toBe(200);
    const worker = stack.workers[0];
    if (!worker) throw new Error('no worker');
    const delivered = () => lines(worker.output()).find((l) => l.context === 'ListSyncProcessor' && String(l.message).startsWith(`list ${listId}:`));
    // The job that delivers may follow one that found nothing to send yet: wait for the member and a job's line.
    await waitFor(async () => delivered() !== undefined && (fake.state.members(listId)?.length ?? 0) > 0, 15_000);
    expect(delivered()?.correlationId).toMatch(/^job:\S+$/);
    expect(fake.state.members(listId)?.map((m) => m.email)).toEqual(['corr@example.com']);
  });
});
