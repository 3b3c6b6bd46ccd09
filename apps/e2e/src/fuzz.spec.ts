import fc from 'fast-check';
import { membershipMessage, Stack, startStack } from '@audience-bridge/harness';

// Fuzz: at least 1000 generated malformed or hostile messages at the real API. Every answer is a 4xx JSON
// error, the process stays alive, and nothing is stored.
const RUNS_PER_KIND = 340;

const valid = () =>
  membershipMessage(
    'fuzz-valid',
    1000,
    [{ mpid: '42', email: 'fuzz@example.com', customerId: 'c42', audiences: [{ audienceId: 7, listId: 70, action: 'add' }] }],
    { accountId: 77 },
  );

/** Values of the wrong shape for a field, hostile ones included. */
const hostile = fc.oneof(
  fc.constantFrom(null, true, -1, 1.5, 2 ** 63, '', ' ', '0', 'NaN', '__proto__', '{"$ne":null}', "'; DROP TABLE memberships; --", '\u0000', '💥'.repeat(1000)),
  fc.object({ maxDepth: 3 }),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
  fc.string({ maxLength: 200 }),
  fc.double(),
);

/**
 * Paths in a membership message and when a value there might still be valid (`ok`): a value for which `ok`
 * is false breaks a required rule, so the message must be refused. `ok` errs towards "might be valid"; null
 * counts as absent for optional fields (mParticle's serializer omits nulls).
 */
const BREAKABLE: { path: (string | number)[]; ok: (v: unknown) => boolean }[] = [
  { path: ['id'], ok: (v) => typeof v === 'string' && v.length > 0 },
  { path: ['timestamp_ms'], ok: (v) => Number.isInteger(v) && (v as number) >= 0 },
  { path: ['account'], ok: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) },
  { path: ['account', 'account_id'], ok: (v) => Number.isInteger(v) && (v as number) >= 0 },
  { path: ['user_profiles'], ok: (v) => v == null || (Array.isArray(v) && v.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p))) },
  { path: ['user_profiles', 0, 'mpid'], ok: (v) => v == null || (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) },
  { path: ['user_profiles', 0, 'audiences', 0, 'action'], ok: (v) => v === 'add' || v === 'delete' || v === 'attribute_update' },
  { path: ['user_profiles', 0, 'audiences', 0, 'audience_id'], ok: (v) => Number.isInteger(v) && (v as number) >= 0 },
  {
    path: ['user_profiles', 0, 'audiences', 0, 'audience_subscription_settings', 'listId'],
    // Any text is accepted since issue 21 §5: a listId that is not a positive integer holds that audience, not the message.
    ok: (v) => v == null || typeof v === 'string',
  },
  { path: ['user_profiles', 0, 'user_identities', 0, 'encoding'], ok: (v) => ['raw', 'md5', 'sha1', 'sha256'].includes(v as string) },
];

function setPath(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]] = value;
}

describe('fuzz: malformed and hostile messages (real API process, PostgreSQL)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('postgres', { LOG_LEVEL: 'warn', MAX_BODY_BYTES: String(256 * 1024) });
  });
  afterAll(async () => {
    await stack.stop();
  });

  const counts = async () =>
    Promise.all(
      ['accounts', 'audience_connections', 'received_messages', 'memberships'].map(async (t) =>
        Number((await stack.dataSource.query(`SELECT COUNT(*) AS n FROM ${t}`))[0].n),
      ),
    );
  let answered = 0;
  const expectRejected = async (body: unknown, raw = false) => {
    const res = await fetch(`${stack.apiUrl}/v1/mparticle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Token ${stack.env['MPARTICLE_INBOUND_TOKEN']}` },
      body: raw ? (body as string) : JSON.stringify(body),
    });
    const text = await res.text();
    answered++;
    if (res.status < 400 || res.status >= 500)
      throw new Error(`answered ${res.status} to ${(raw ? String(body) : JSON.stringify(body)).slice(0, 300)}: ${text.slice(0, 300)}`);
    const json = JSON.parse(text) as { statusCode: number; message: string };
    expect(json.statusCode).toBe(res.status);
    expect(typeof json.message).toBe('string');
  };

  it('accepts a valid message and names the field of a broken one (the positive controls of this suite)', async () => {
    const ok = await stack.send(valid());
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ type: 'audience_membership_change_response', id: 'fuzz-valid', suspend_subscription: false });
    const broken = valid();
    setPath(broken, ['user_profiles', 0, 'audiences', 0, 'action'], 'remove');
    const res = await stack.send(broken);
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toEqual([expect.objectContaining({ path: 'user_profiles[0].audiences[0].action' })]);
  });

  it('answers every generated message with a 4xx JSON error, stays alive, and stores nothing', async () => {
    const before = await counts();

    // 1. One required field of a valid message replaced by a value of the wrong shape.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BREAKABLE), hostile, async (field, value) => {
        fc.pre(!field.ok(value));
        const body = valid();
        setPath(body, field.path, value);
        await expectRejected(body);
      }),
      { numRuns: RUNS_PER_KIND, seed: 42 },
    );

    // 2. Anything at all as the body (never one of the three message types).
    await fc.assert(
      fc.asyncProperty(fc.anything({ maxDepth: 4, withNullPrototype: true }), async (body) => {
        fc.pre(!(typeof body === 'object' && body !== null && 'type' in body));
        await expectRejected(body);
      }),
      { numRuns: RUNS_PER_KIND, seed: 43 },
    );

    // 3. Bytes that are not JSON, or not whole JSON.
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (text) => {
        fc.pre(
          (() => {
            try {
              JSON.parse(text);
              return false;
            } catch {
              return true;
            }
          })(),
        );
        await expectRejected(text, true);
      }),
      { numRuns: RUNS_PER_KIND, seed: 44 },
    );

    // 4. Hostile shapes: prototype keys, deep nesting, huge arrays and strings, a valid message with a poisoned profile.
    const deep = (n: number): unknown => (n === 0 ? {} : { user_profiles: [deep(n - 1)] });
    const specials: unknown[] = [
      { ...valid(), __proto__: { polluted: true }, type: 'audience_membership_change_request', id: undefined },
      JSON.parse('{"__proto__": {"isAdmin": true}, "type": "audience_membership_change_request"}'),
      { ...valid(), constructor: { prototype: { polluted: true } }, timestamp_ms: -5 },
      { ...valid(), user_profiles: Array.from({ length: 3000 }, () => ({ mpid: 'x' })) },
      { ...valid(), id: 'x'.repeat(300_000) },
      deep(200),
      `{"type":"audience_membership_change_request","id":"d","timestamp_ms":1,"account":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
      { ...valid(), timestamp_ms: Date.now() + 2 * 86_400_000 },
      { ...valid(), account: { account_id: 2 ** 70 } },
      { ...valid(), type: 'audience_membership_change_request', account: { account_id: 1, account_settings: { userIdField: 'email' } } },
      { ...valid(), type: 'dsr_processing_request' },
    ];
    for (const body of specials) await expectRejected(body, typeof body === 'string');
    process.stdout.write(`[fuzz] ${answered} malformed or hostile messages, every one answered 4xx JSON\n`);

    expect(answered).toBeGreaterThanOrEqual(1000);
    expect(await counts()).toEqual(before);
    expect((await fetch(`${stack.apiUrl}/health/live`)).status).toBe(200);
    expect(stack.api.output()).not.toMatch(/Unhandled error/);
  }, 120_000);

  it('refuses prototype keys anywhere, by path, and they change nothing in the API process', async () => {
    // Had any of these reached Object.prototype in the API, a message without a listId would be routed to
    // list 999 and every answer would say suspend_subscription: true. Both are checked after the attempts.
    const poison = '{"listId":"999","suspend_subscription":true,"polluted":true}';
    const attempts: [string, string][] = [
      [`{"__proto__":${poison},"type":"audience_membership_change_request"}`, '__proto__'],
      [JSON.stringify({ ...valid(), account: { account_id: 78 } }).replace('"account_id":78', `"account_id":78,"__proto__":${poison}`), 'account.__proto__'],
      [JSON.stringify({ ...valid(), constructor: { prototype: JSON.parse(poison) } }), 'constructor'],
      [
        JSON.stringify(valid()).replace('"action":"add"', `"action":"add","audience_subscription_settings":{"__proto__":${poison}}`),
        'user_profiles[0].audiences[0].audience_subscription_settings.__proto__',
      ],
    ];
    for (const [body, path] of attempts) {
      const res = await stack.send(body);
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toEqual([expect.objectContaining({ path })]);
    }
    const probe = membershipMessage(
      'fuzz-probe',
      1000,
      [
        {
          mpid: '43',
          email: 'probe@example.com',
          audiences: [
            { audienceId: 7, listId: 70, action: 'add' },
            { audienceId: 8, listId: 0, action: 'add' },
          ],
        },
      ],
      { accountId: 79 },
    );
    delete (probe['user_profiles'] as { audiences: Record<string, unknown>[] }[])[0].audiences[1]['audience_subscription_settings'];
    const res = await stack.send(probe);
    expect(res.status).toBe(200);
    expect(res.body.suspend_subscription).toBe(false);
    const rows = await stack.dataSource.query(`SELECT audience_id, list_id FROM audience_connections WHERE account_id = 79 ORDER BY audience_id`);
    expect(rows.map((r: { audience_id: unknown; list_id: unknown }) => [Number(r.audience_id), r.list_id === null ? null : Number(r.list_id)])).toEqual([
      [7, 70],
      [8, null],
    ]);
  });

  it('never answers 5xx for a NUL in any text PostgreSQL would store (it cannot store NUL)', async () => {
    const nul = (text: string) => `${text}\u0000x`;
    type Profile = { mpid?: string; user_identities: { value: string }[]; audiences: Record<string, unknown>[] };
    const base = () =>
      membershipMessage(
        'fuzz-nul',
        1000,
        [{ mpid: '44', email: 'nul@example.com', customerId: 'c44', audiences: [{ audienceId: 9, listId: 90, action: 'add' }] }],
        {
          accountId: 80,
        },
      ) as Record<string, unknown> & { user_profiles: [Profile] };
    const variants: [string, (m: ReturnType<typeof base>) => void][] = [
      ['message id', (m) => (m['id'] = nul('fuzz-nul-id'))],
      ['audience name', (m) => (m.user_profiles[0].audiences[0] = { ...m.user_profiles[0].audiences[0], audience_name: nul('Audience') })],
      [
        'customer id without mpid',
        (m) => {
          delete m.user_profiles[0].mpid;
          m.user_profiles[0].user_identities = [
            m.user_profiles[0].user_identities[0] ?? { value: '' },
            { ...m.user_profiles[0].user_identities[1], value: nul('c44') },
          ];
        },
      ],
      [
        'email',
        (m) =>
          (m.user_profiles[0].user_identities = [
            { ...m.user_profiles[0].user_identities[0], value: nul('nul@example.com') },
            ...m.user_profiles[0].user_identities.slice(1),
          ]),
      ],
      ['api key', (m) => ((m['account'] as { account_settings: Record<string, string> }).account_settings['apiKey'] = nul('k'.repeat(20)))],
    ];
    const answers: string[] = [];
    for (const [name, change] of variants) {
      const message = base();
      message['id'] = `fuzz-nul-${name}`;
      change(message);
      const res = await stack.send(message);
      answers.push(`${name}: ${res.status}`);
    }
    const subscription = {
      type: 'audience_subscription_request',
      id: 'fuzz-nul-subscription',
      timestamp_ms: 1000,
      firehose_version: '3.2.0',
      account: { account_id: 80, account_settings: { apiKey: 'e2e-iterable-key-0000000000000000', userIdField: 'customerId' } },
      audience_id: 10,
      audience_name: nul('Audience'),
      audience_subscription_settings: { listId: '91' },
      action: 'add',
    };
    answers.push(`subscription audience name: ${(await stack.send(subscription)).status}`);
    const erasure = (requestId: string, customerId: string) => ({
      type: 'dsr_processing_request',
      id: `fuzz-nul-dsr-${answers.length}`,
      timestamp_ms: 1000,
      firehose_version: '3.2.0',
      account: { account_id: 80, account_settings: { apiKey: 'e2e-iterable-key-0000000000000000', userIdField: 'customerId' } },
      subject_request_id: requestId,
      subject_request_type: 'erasure',
      regulation: 'gdpr',
      submitted_time: new Date(1000).toISOString(),
      api_version: '3.0',
      subject_identities: { controller_customer_id: { encoding: 'raw', value: customerId } },
    });
    answers.push(`erasure request id: ${(await stack.send(erasure(nul('osdr'), 'c44'))).status}`);
    answers.push(`erasure customer id: ${(await stack.send(erasure('osdr-nul', nul('c44')))).status}`);
    // Refused whole, naming the field: nothing of these messages was stored.
    expect(await stack.dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = 80`)).toEqual([{ n: '0' }]);
    expect(answers.filter((a) => / 5\d\d$/.test(a))).toEqual([]);
  });
});
