import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { DRIVERS } from '@audience-bridge/persistence';
import { ADMIN_TOKEN, INBOUND_TOKEN, membershipMessage, Stack, startStack } from '@audience-bridge/harness';

const ITERABLE_KEY = 'iterable-secret-key-e2e-7f3a9c1d5b';

describe.each(DRIVERS)('API ingest on %s (real API process, Redis, database)', (driver) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(driver, { MAX_BODY_BYTES: String(64 * 1024) });
  });
  afterAll(async () => {
    await stack.stop();
  });

  const count = async (table: string) => Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
  const storedCounts = async () => ({
    accounts: await count('accounts'),
    connections: await count('audience_connections'),
    messages: await count('received_messages'),
    memberships: await count('memberships'),
  });

  it('answers registration without auth, with the Iterable settings', async () => {
    const res = await stack.send({ type: 'module_registration_request', id: 'reg-1', timestamp_ms: 1 }, null);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('module_registration_response');
    expect(res.body.audience_processing_registration.account_settings.map((s: { id: string }) => s.id)).toEqual([
      'apiKey',
      'userIdField',
      'dataCenter',
      'listNameTemplate',
      'onAudienceRemove',
      'forwardAttributes',
    ]);
  });

  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'Token not-the-right-token-at-all'],
    ['the admin token', `Bearer ${ADMIN_TOKEN}`],
    ['the right token with the wrong scheme', `Bearer ${INBOUND_TOKEN}`],
  ])('refuses a membership change with %s: 401 JSON, nothing stored', async (_name, authorization) => {
    const before = await storedCounts();
    const res = await stack.send(
      membershipMessage('auth-1', 1, [{ mpid: '1', email: 'a@example.com', audiences: [{ audienceId: 1, listId: 10, action: 'add' }] }]),
      authorization,
    );
    expect(res.status).toBe(401);
    expect(res.contentType).toMatch(/json/);
    expect(res.body.message).toMatch(/MPARTICLE_INBOUND_TOKEN/);
    expect(await storedCounts()).toEqual(before);
  });

  it.each([
    ['no Authorization header', {}],
    ['the inbound token', { authorization: `Token ${INBOUND_TOKEN}` }],
    ['a wrong bearer token', { authorization: 'Bearer wrong-token-wrong-token' }],
  ])('refuses the admin API with %s: 401 JSON', async (_name, headers) => {
    for (const path of ['/v1/stats', '/v1/accounts/1', '/v1/users/1/memberships']) {
      const res = await fetch(`${stack.apiUrl}${path}`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { statusCode: number }).statusCode).toBe(401);
    }
  });

  const valid = () => membershipMessage('bad-1', 1000, [{ mpid: '77', email: 'bad@example.com', audiences: [{ audienceId: 5, listId: 50, action: 'add' }] }]);
  const withProfile = (patch: Record<string, unknown>) => {
    const m = valid();
    (m.user_profiles as Record<string, unknown>[]).push({ mpid: '78', ...patch });
    return m;
  };

  it.each<[string, unknown, number, RegExp]>([
    ['not JSON', '{"type": "audience_membership_change_request", ', 400, /JSON/],
    ['a JSON array', [1, 2, 3], 400, /\(body\)/],
    ['an unknown type', { ...valid(), type: 'surprise' }, 400, /type/],
    ['an event batch', { ...valid(), type: 'event_processing_request' }, 400, /type/],
    ['no id', { ...valid(), id: undefined }, 400, /id/],
    ['a string timestamp', { ...valid(), timestamp_ms: 'yesterday' }, 400, /timestamp_ms/],
    ['no account', { ...valid(), account: undefined }, 400, /account/],
    ['an unknown userIdField', { ...valid(), account: { account_id: 1, account_settings: { apiKey: 'k', userIdField: 'email' } } }, 400, /userIdField/],
    ['an unknown dataCenter', { ...valid(), account: { account_id: 1, account_settings: { apiKey: 'k', dataCenter: 'APAC' } } }, 400, /dataCenter/],
    ['a numeric mpid in the second profile', withProfile({ mpid: 78 }), 400, /user_profiles\[1\]\.mpid/],
    [
      'a bad action in the second profile',
      withProfile({ audiences: [{ audience_id: 5, audience_name: 'x', audience_subscription_settings: { listId: '50' }, action: 'remove' }] }),
      400,
      /user_profiles\[1\]\.audiences\[0\]\.action/,
    ],
    ['an unknown identity encoding', withProfile({ user_identities: [{ type: 'email', encoding: 'base64', value: 'x' }] }), 400, /encoding/],
    ['a body over MAX_BODY_BYTES', { ...valid(), padding: 'x'.repeat(70 * 1024) }, 413, /MAX_BODY_BYTES/],
    // Hostile or overflowing values: each a 400 naming the field (or the limit), never a 5xx.
    [
      'an account nested 5,000 levels deep',
      JSON.stringify({ ...valid(), account: 0 }).replace('"account":0', `"account":{"account_id":1,"extra":${'{"a":'.repeat(5000)}{}${'}'.repeat(5000)}}`),
      400,
      /deeper than 32 levels/,
    ],
    ['a message id over 128 characters', { ...valid(), id: 'i'.repeat(129) }, 400, /"id must be shorter than or equal to 128 characters/],
    [
      'an audience_name over 255 characters',
      withProfile({ audiences: [{ audience_id: 5, audience_name: 'n'.repeat(256), audience_subscription_settings: { listId: '50' }, action: 'add' }] }),
      400,
      /audience_name must be shorter than or equal to 255/,
    ],
    ['an account_id above 2^63', { ...valid(), account: { account_id: 2 ** 64 } }, 400, /account\.account_id must not be greater than/],
    [
      'an audience_id above 2^63',
      withProfile({ audiences: [{ audience_id: 2 ** 64, audience_name: 'x', audience_subscription_settings: { listId: '50' }, action: 'add' }] }),
      400,
      /audiences\[0\]\.audience_id must not be greater than/,
    ],
    ['a timestamp_ms above 2^63', { ...valid(), timestamp_ms: 2 ** 64 }, 400, /timestamp_ms must not be greater than/],
    ['a timestamp_ms ten days ahead', { ...valid(), timestamp_ms: Date.now() + 10 * 86_400_000 }, 400, /timestamp_ms must not be more than a day/],
    [
      'an API key of 10,000 characters',
      { ...valid(), account: { account_id: 1, account_settings: { apiKey: 'k'.repeat(10_000) } } },
      400,
      /apiKey must be at most 256/,
    ],
    [
      'a __proto__ key',
      JSON.parse(`{"type":"audience_membership_change_request","id":"p","timestamp_ms":1,"account":{"account_id":1,"__proto__":{"isAdmin":true}}}`),
      400,
      /account\.__proto__ is not allowed/,
    ],
    ['a constructor.prototype key', withProfile({ constructor: { prototype: { polluted: true } } }), 400, /user_profiles\[1\]\.constructor is not allowed/],
  ])('rejects %s with a JSON error naming the problem, and stores nothing', async (_name, body, status, pattern) => {
    const before = await storedCounts();
    const res = await stack.send(body);
    expect(res.status).toBe(status);
    expect(res.contentType).toMatch(/application\/json/);
    expect(JSON.stringify(res.body)).toMatch(pattern);
    expect(await storedCounts()).toEqual(before);
  });

  it('parses at most 16 KB from a client without a valid token (registration is tiny), and the full limit with one', async () => {
    const big = { ...valid(), padding: 'x'.repeat(20 * 1024) };
    for (const authorization of [null, 'Token not-the-right-token-at-all', `Bearer ${INBOUND_TOKEN}`]) {
      const res = await stack.send(big, authorization);
      expect(res.status).toBe(413);
      expect(res.body.message).toMatch(/16384 bytes, the limit without a valid token/);
    }
    expect((await stack.send(big)).status).toBe(200);
    expect((await stack.send({ type: 'module_registration_request', id: 'reg-small', timestamp_ms: 1 }, null)).status).toBe(200);
  });

  it('stores a user whose customer id is too long for a key under its SHA-256, and answers 200', async () => {
    const message = membershipMessage(
      'long-key-1',
      1000,
      [{ mpid: '0', customerId: 'c'.repeat(5000), email: 'long@example.com', audiences: [{ audienceId: 66, listId: 660, action: 'add' }] }],
      { accountId: 66 },
    );
    delete (message.user_profiles as Record<string, unknown>[])[0].mpid;
    const res = await stack.send(message);
    expect(res.status).toBe(200);
    const rows = (await stack.dataSource.query(`SELECT user_key, skip_reason FROM memberships WHERE account_id = 66`)) as {
      user_key: string;
      skip_reason: string | null;
    }[];
    expect(rows).toEqual([{ user_key: expect.stringMatching(/^customer#sha256:[0-9a-f]{64}$/), skip_reason: 'invalid userId' }]);
  });

  it('reads bodies as a client expects of HTTP: another charset 415, a chunked body over the limit 413, a trailing slash the same route', async () => {
    const before = await storedCounts();
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${stack.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Token ${INBOUND_TOKEN}`, ...headers }, body });
    const latin1 = await post('/v1/mparticle', { 'content-type': 'application/json; charset=latin1' }, JSON.stringify(valid()));
    expect(latin1.status).toBe(415);
    expect(((await latin1.json()) as { message: string }).message).toMatch(/charset "latin1"/);
    // No Content-Length: the limit is enforced while reading, not only against a declared length.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(i === 0 ? '{"padding":"' : 'x'.repeat(1024)));
        controller.close();
      },
    });
    const chunked = await fetch(`${stack.apiUrl}/v1/mparticle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { message: string }).message).toMatch(/16384 bytes, the limit without a valid token/);
    expect(await storedCounts()).toEqual(before);
    const slash = await post('/v1/mparticle/', { 'content-type': 'application/json' }, JSON.stringify({ ...valid(), id: 'slash-1' }));
    expect(slash.status).toBe(200);
    expect(slash.headers.get('x-request-id')).toBeTruthy();
  });

  it('takes a body compressed with gzip, deflate or br, limits it by its inflated size, and refuses another encoding with 415', async () => {
    const post = (encoding: string, body: Buffer, authorization = `Token ${INBOUND_TOKEN}`) =>
      fetch(`${stack.apiUrl}/v1/mparticle`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', 'content-encoding': encoding },
        body: new Uint8Array(body),
      });
    const text = (id: string) => JSON.stringify({ ...valid(), id });
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const res = await post(encoding, compress(text(`encoded-${encoding}`)));
      expect(res.status).toBe(200);
    }
    const before = await storedCounts();
    // 20 KB of JSON compresses to a few hundred bytes: the anonymous limit holds for what it inflates to.
    const bomb = await post('gzip', gzipSync(JSON.stringify({ ...valid(), padding: 'x'.repeat(20 * 1024) })), '');
    expect(bomb.status).toBe(413);
    const unknown = await post('compress', Buffer.from(text('encoded-lzw')));
    expect(unknown.status).toBe(415);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/content encoding "compress"/);
    const broken = await post('gzip', Buffer.from(text('encoded-broken')));
    expect(broken.status).toBe(400);
    expect(await storedCounts()).toEqual(before);
  });

  it('rejects a body that is not JSON with 415 and stores nothing', async () => {
    const before = await storedCounts();
    const res = await fetch(`${stack.apiUrl}/v1/mparticle`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Token ${INBOUND_TOKEN}` },
      body: 'hello',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { statusCode: number }).statusCode).toBe(415);
    expect(await storedCounts()).toEqual(before);
  });

  it('acknowledges a keep-alive without changing membership', async () => {
    const before = await storedCounts();
    const { user_profiles: _none, ...keepAlive } = membershipMessage('keep-alive-1', 5, [], { accountId: 31 });
    const res = await stack.send(keepAlive);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'audience_membership_change_response', id: 'keep-alive-1', suspend_subscription: false });
    expect((await storedCounts()).memberships).toBe(before.memberships);
  });

  it('leaves the newest state for duplicated and out-of-order messages', async () => {
    const user = (action: 'add' | 'delete', email: string) => [
      { mpid: '9001', email, customerId: 'c-9001', audiences: [{ audienceId: 61, listId: 610, action }] },
    ];
    const messages = [
      membershipMessage('ooo-3', 3000, user('add', 'Newest@Example.com'), { accountId: 61 }),
      membershipMessage('ooo-1', 1000, user('add', 'old@example.com'), { accountId: 61 }),
      membershipMessage('ooo-2', 2000, user('delete', 'old@example.com'), { accountId: 61 }),
      membershipMessage('ooo-3', 3000, user('add', 'Newest@Example.com'), { accountId: 61 }),
      membershipMessage('ooo-2', 2000, user('delete', 'old@example.com'), { accountId: 61 }),
    ];
    const answers = await Promise.all(messages.map((m) => stack.send(m)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);

    const res = await stack.admin('GET', '/v1/users/9001/memberships');
    expect(res.status).toBe(200);
    expect(res.body.memberships).toEqual([
      expect.objectContaining({
        accountId: 61,
        audienceId: 61,
        listId: 610,
        action: 'add',
        email: 'newest@example.com',
        userId: 'c-9001',
        state: 'pending',
        timestampMs: 3000,
        sourceMessageId: 'ooo-3',
      }),
    ]);
    const stats = await stack.admin('GET', '/v1/stats');
    expect(stats.body.duplicates).toBeGreaterThanOrEqual(2);
    expect(Object.keys(stats.body)[0]).toBe('pending');
  });

  it('answers 404 JSON for an unknown user or account', async () => {
    expect((await stack.admin('GET', '/v1/users/123456789/memberships')).status).toBe(404);
    expect((await stack.admin('GET', '/v1/accounts/987654')).status).toBe(404);
  });

  it('keeps the Iterable API key out of the database, the answers and the logs', async () => {
    const res = await stack.send(
      membershipMessage('key-1', 1000, [{ mpid: '555', email: 'k@example.com', audiences: [{ audienceId: 70, listId: 700, action: 'add' }] }], {
        accountId: 70,
        apiKey: ITERABLE_KEY,
      }),
    );
    expect(res.status).toBe(200);
    const account = await stack.admin('GET', '/v1/accounts/70');
    expect(account.body).toMatchObject({ accountId: 70, apiKeyLast4: ITERABLE_KEY.slice(-4) });
    expect(JSON.stringify(account.body)).not.toContain(ITERABLE_KEY);

    const put = await stack.admin('PUT', '/v1/accounts/70', { apiKey: `${ITERABLE_KEY}-rotated`, dryRun: true });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(ITERABLE_KEY);

    for (const table of ['accounts', 'audience_connections', 'received_messages', 'memberships']) {
      expect(JSON.stringify(await stack.dataSource.query(`SELECT * FROM ${table}`))).not.toContain(ITERABLE_KEY);
    }
    expect(stack.api.output()).not.toContain(ITERABLE_KEY);
  });

  it('reads and changes account settings and audience connections over the admin API', async () => {
    await stack.send(
      membershipMessage('adm-1', 1000, [{ mpid: '600', email: 'p@example.com', audiences: [{ audienceId: 80, listId: 800, action: 'add' }] }], {
        accountId: 80,
        userIdField: 'mpid',
      }),
    );
    expect((await stack.admin('GET', '/v1/accounts/80')).body).toMatchObject({ userIdField: 'mpid', dataCenter: 'US', status: 'active', dryRun: false });
    expect((await stack.admin('PUT', '/v1/accounts/80', { dataCenter: 'EU', dryRun: true })).body).toMatchObject({
      dataCenter: 'EU',
      dryRun: true,
      userIdField: 'mpid',
    });
    expect((await stack.admin('PUT', '/v1/accounts/80', { dataCenter: 'APAC' })).status).toBe(400);
    expect((await stack.admin('PUT', '/v1/accounts/80', { unknown: 1 })).status).toBe(400);
    expect((await stack.admin('GET', '/v1/accounts/80/audiences/80')).body).toMatchObject({
      audienceId: 80,
      listId: 800,
      status: 'active',
      audienceName: 'Audience 80',
    });
    expect((await stack.admin('PUT', '/v1/accounts/80/audiences/80', { listId: 801 })).body).toMatchObject({ listId: 801 });
    expect((await stack.admin('PUT', '/v1/accounts/80/audiences/80', { listId: -1 })).status).toBe(400);
    expect((await stack.admin('GET', '/v1/accounts/not-a-number')).status).toBe(400);
    // Issue 22 §5: nothing is created half-made. A new account needs its key, a new audience its name; a name is never blank.
    const noKey = await stack.admin('PUT', '/v1/accounts/81', {});
    expect(noKey).toMatchObject({ status: 400, body: { message: 'apiKey is required to create account 81' } });
    expect((await stack.admin('GET', '/v1/accounts/81')).status).toBe(404);
    const noName = await stack.admin('PUT', '/v1/accounts/80/audiences/88', {});
    expect(noName).toMatchObject({ status: 400, body: { message: 'audienceName is required to create audience 88' } });
    expect((await stack.admin('GET', '/v1/accounts/80/audiences/88')).status).toBe(404);
    expect((await stack.admin('PUT', '/v1/accounts/80/audiences/80', { audienceName: '  ' })).status).toBe(400);
    expect((await stack.admin('GET', '/v1/accounts/80/audiences/80')).body).toMatchObject({ audienceName: 'Audience 80' });
    expect((await stack.admin('PUT', '/v1/accounts/80', {})).status).toBe(200);
  });

  it('handles audience subscription add, update and remove', async () => {
    const sub = (action: string, listId: string, id: string) => ({
      type: 'audience_subscription_request',
      id,
      timestamp_ms: Number(id.slice(1)),
      account: { account_id: 90, account_settings: { apiKey: 'sub-key-000000000000' } },
      audience_id: 900,
      audience_name: 'Subscribed',
      audience_subscription_settings: { listId },
      action,
    });
    expect((await stack.send(sub('add', '9000', 's1'))).body).toMatchObject({ type: 'audience_subscription_response', id: 's1' });
    expect((await stack.admin('GET', '/v1/accounts/90/audiences/900')).body).toMatchObject({ listId: 9000, status: 'active' });
    await stack.send(sub('update', '9001', 's2'));
    expect((await stack.admin('GET', '/v1/accounts/90/audiences/900')).body).toMatchObject({ listId: 9001, status: 'active' });
    await stack.send(sub('remove', '9001', 's3'));
    expect((await stack.admin('GET', '/v1/accounts/90/audiences/900')).body).toMatchObject({ status: 'removed' });
  });

  it('says suspend_subscription while the account is suspended (within a second of the change), and not after resume', async () => {
    const msg = (id: string) =>
      membershipMessage(id, 1, [{ mpid: '700', email: 's@example.com', audiences: [{ audienceId: 95, listId: 950, action: 'add' }] }], { accountId: 95 });
    expect((await stack.send(msg('sus-1'))).body.suspend_subscription).toBe(false);
    await stack.dataSource.query(`UPDATE accounts SET status = 'suspended', suspended_reason = 'bad api key' WHERE account_id = 95`);
    const flags: boolean[] = [];
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline && flags[flags.length - 1] !== true) {
      flags.push((await stack.send(msg(`sus-2-${flags.length}`))).body.suspend_subscription);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(flags[flags.length - 1]).toBe(true);
    expect((await stack.admin('POST', '/v1/accounts/95/resume')).body).toMatchObject({ status: 'active', suspendedReason: null });
    expect((await stack.send(msg('sus-3'))).body.suspend_subscription).toBe(false);
  });

  it('answers readiness with the database and Redis up', async () => {
    const res = await fetch(`${stack.apiUrl}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('serves the OpenAPI document', async () => {
    const res = await fetch(`${stack.apiUrl}/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/mparticle', '/v1/stats', '/v1/accounts/{accountId}']));

    // The admin and audit answers document their shapes.
    const okSchema = (path: string, method = 'get') => doc.paths[path]?.[method]?.responses['200']?.content?.['application/json']?.schema.$ref;
    const account = '/v1/accounts/{accountId}';
    const audience = `${account}/audiences/{audienceId}`;
    for (const [path, method] of [
      [account, 'get'],
      [account, 'put'],
      [`${account}/resume`, 'post'],
    ] as const)
      expect(okSchema(path, method)).toBe('#/components/schemas/AccountViewDto');
    for (const [path, method] of [
      [audience, 'get'],
      [audience, 'put'],
      [`${audience}/resume`, 'post'],
      [`${audience}/recreate-list`, 'post'],
    ] as const)
      expect(okSchema(path, method)).toBe('#/components/schemas/ConnectionViewDto');
    expect(okSchema('/v1/deliveries')).toBe('#/components/schemas/DeliveriesDto');
    expect(okSchema('/v1/stats')).toBe('#/components/schemas/StatsDto');
    expect(okSchema('/v1/users/{mpid}/memberships')).toBe('#/components/schemas/MpidMembershipsDto');
    const properties = (name: string) => Object.keys(doc.components.schemas[name]?.properties ?? {});
    expect(properties('AccountViewDto')).toEqual(expect.arrayContaining(['accountId', 'apiKeyLast4', 'status', 'dryRun', 'overriddenAt']));
    expect(properties('AccountViewDto')).not.toContain('apiKey');
    expect(properties('ConnectionViewDto')).toEqual(expect.arrayContaining(['audienceId', 'listId', 'status', 'overriddenAt']));
    expect(properties('DeliveryDto')).toEqual(expect.arrayContaining(['id', 'time', 'httpStatus', 'dryRun']));
    expect(properties('StatsDto')).toEqual(expect.arrayContaining(['pending', 'failingSince', 'members', 'iterable']));
    expect(properties('MpidMembershipDto')).toEqual(expect.arrayContaining(['state', 'reason', 'history']));
  });

  it('never answered a 5xx during these tests', () => {
    expect(stack.api.output()).not.toMatch(/Unhandled error/);
  });
});
