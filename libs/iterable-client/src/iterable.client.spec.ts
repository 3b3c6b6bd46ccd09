import { inspect } from 'node:util';

import type { Logger } from '@nestjs/common';

import { LimiterWaitTimeoutError } from './iterable-rate.limiter';
import { IterableClient } from './iterable.client';
import { IterableError } from './iterable.error';
import type { IterableClientOptions, IterableLogger, IterableRequestLimiter, IterableSubscriber } from './iterable.types';
import type { FaultConfig, RunningFakeIterable } from './testing/fake-iterable.harness';
import { capturingLogger, hugeErrorPage, rejectionOf, startFakeIterable, testApiKey } from './testing/fake-iterable.harness';

// Nest's Logger fits the client's logger interface as it is (a compile-time check).
const _nestLoggerFits = (logger: Logger): IterableLogger => logger;

describe('IterableClient against the fake Iterable (contract)', () => {
  let fake: RunningFakeIterable;
  const clients: IterableClient[] = [];
  const hybridKey = testApiKey('hybrid-us');
  const userIdEuKey = testApiKey('userid-eu');
  const emailKey = testApiKey('email-us');
  let hybridList: number;
  let euList: number;
  let emailList: number;

  const client = (options: Partial<IterableClientOptions> = {}): IterableClient => {
    const created = new IterableClient({ apiKey: hybridKey, dataCenter: 'US', baseUrlOverride: fake.url, ...options });
    clients.push(created);
    return created;
  };
  const faults = (config: FaultConfig): void => fake.state.setFaults(config);
  const lastRequest = () => fake.state.requests[fake.state.requests.length - 1];

  beforeAll(async () => {
    fake = await startFakeIterable();
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await fake.close();
  });
  beforeEach(() => {
    fake.state.reset();
    hybridList = fake.state.listsOf(fake.state.createProject({ apiKey: hybridKey, type: 'hybrid', dataCenter: 'US', lists: [{ name: 'vip' }] }))[0].id;
    euList = fake.state.listsOf(fake.state.createProject({ apiKey: userIdEuKey, type: 'userId', dataCenter: 'EU', lists: [{ name: 'eu' }] }))[0].id;
    emailList = fake.state.listsOf(fake.state.createProject({ apiKey: emailKey, type: 'email', dataCenter: 'US', lists: [{ name: 'em' }] }))[0].id;
  });

  describe('verdicts per subscriber', () => {
    beforeEach(() => {
      const project = fake.state.projectFor(hybridKey);
      fake.state.seedUsers(project, [
        { email: 'taken@example.com' },
        { userId: 'u-taken' },
        { email: 'typed@example.com', userId: 'u-typed', dataFields: { score: 1 } },
      ]);
      fake.state.forget(project, ['gone@example.com'], ['u-gone']);
    });

    it.each<[string, IterableSubscriber, unknown]>([
      ['a new user is delivered', { email: 'new@example.com', userId: 'u-new' }, { kind: 'delivered' }],
      [
        'a malformed email (mixed case, echoed lower-cased)',
        { email: 'Broken@' },
        { kind: 'failed', reason: 'invalid email', retryable: false, detail: 'failedUpdates.invalidEmails' },
      ],
      [
        'a userId with a trailing space',
        { email: 'ok@example.com', userId: 'u-1 ' },
        { kind: 'failed', reason: 'invalid userId', retryable: false, detail: 'failedUpdates.invalidUserIds' },
      ],
      [
        'a userId over 52 characters',
        { userId: 'u'.repeat(53) },
        { kind: 'failed', reason: 'invalid userId', retryable: false, detail: 'failedUpdates.invalidUserIds' },
      ],
      [
        'a forgotten email in another case',
        { email: 'GONE@example.com' },
        { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenEmails' },
      ],
      ['a forgotten userId', { userId: 'u-gone' }, { kind: 'failed', reason: 'forgotten', retryable: false, detail: 'failedUpdates.forgottenUserIds' }],
      [
        'email and userId of two different users',
        { email: 'Taken@example.com', userId: 'u-taken' },
        { kind: 'failed', reason: 'conflict', retryable: false, detail: 'failedUpdates.conflictEmails' },
      ],
      [
        'a field changing type',
        { userId: 'u-typed', dataFields: { score: 'high' } },
        { kind: 'failed', reason: 'invalid data', retryable: false, detail: 'failedUpdates.invalidDataUserIds' },
      ],
    ])('subscribe: %s', async (_name, subscriber, outcome) => {
      const result = await client().subscribe(hybridList, [subscriber]);
      expect(result.verdicts).toEqual([expect.objectContaining({ subscriber, outcome })]);
      expect(result.countMismatch).toBe(false);
      expect(result.unattributedFailures).toBe(0);
    });

    it('subscribe: an unknown user with updateExistingUsersOnly is "not found"', async () => {
      const result = await client().subscribe(hybridList, [{ email: 'taken@example.com' }, { email: 'nobody@example.com' }], { updateExistingUsersOnly: true });
      expect(result.verdicts.map((v) => v.outcome)).toEqual([
        { kind: 'delivered' },
        { kind: 'failed', reason: 'not found', retryable: false, detail: 'failedUpdates.notFoundEmails' },
      ]);
      expect(lastRequest().body).toMatchObject({ updateExistingUsersOnly: true });
    });

    it('subscribe in an email-based project: a userId alone is not found unless preferUserId', async () => {
      const email = client({ apiKey: emailKey });
      const plain = await email.subscribe(emailList, [{ userId: 'anon-1' }]);
      expect(plain.verdicts[0].outcome).toMatchObject({ kind: 'failed', reason: 'not found' });
      const preferred = await email.subscribe(emailList, [{ userId: 'anon-1' }], { preferUserId: true });
      expect(preferred.verdicts[0].outcome).toEqual({ kind: 'delivered' });
      expect(lastRequest().body).toEqual({ listId: emailList, subscribers: [{ userId: 'anon-1', preferUserId: true }] });
    });

    it('unsubscribe: users Iterable does not know count as delivered (already off); others as Iterable says', async () => {
      const c = client();
      await c.subscribe(hybridList, [{ email: 'member@example.com', userId: 'u-member' }]);
      const subscribers = [
        { email: 'MEMBER@example.com' },
        { email: 'never-seen@example.com' },
        { userId: 'u-never' },
        { email: 'gone@example.com' },
        { email: 'bad@' },
      ];
      const result = await c.unsubscribe(hybridList, subscribers);
      expect(result.verdicts.map((v) => [v.outcome.kind, v.category])).toEqual([
        ['delivered', undefined],
        ['delivered', 'notFoundEmails'],
        ['delivered', 'notFoundUserIds'],
        ['failed', 'forgottenEmails'],
        ['failed', 'invalidEmails'],
      ]);
      expect(result).toMatchObject({ successCount: 1, failCount: 4, countMismatch: false, unattributedFailures: 0 });
      expect(fake.state.members(hybridList)).toEqual([]);
    });

    it('a mixed batch of 1000 keeps every verdict with its own subscriber', async () => {
      const subscribers = Array.from({ length: 1000 }, (_, i) => (i % 10 === 3 ? { email: `bad${i}@` } : { email: `User${i}@Example.com`, userId: `u-${i}` }));
      const result = await client().subscribe(hybridList, subscribers);
      expect(result.verdicts).toHaveLength(1000);
      result.verdicts.forEach((verdict, i) => {
        expect(verdict.subscriber).toBe(subscribers[i]);
        expect(verdict.outcome.kind).toBe(i % 10 === 3 ? 'failed' : 'delivered');
      });
      expect(result).toMatchObject({ successCount: 900, failCount: 100, countMismatch: false });
      expect(fake.state.members(hybridList)).toHaveLength(900);
    });

    it('reads answers that omit the empty arrays', async () => {
      fake.state.setConfig({ omitEmptyArrays: true });
      const result = await client().subscribe(hybridList, [{ email: 'a@example.com' }, { email: 'x@' }]);
      expect(lastRequest().response).toEqual({ successCount: 1, failCount: 1, failedUpdates: { invalidEmails: ['x@'] }, invalidEmails: ['x@'] });
      expect(result.verdicts.map((v) => v.outcome.kind)).toEqual(['delivered', 'failed']);
      expect(result.createdFields).toEqual([]);
    });
  });

  describe('what goes on the wire', () => {
    it('subscribe sends only email, userId and (when given) dataFields, with the Api-Key header and JSON', async () => {
      const subscribers = [
        { email: 'a@example.com', userId: 'u-a', mpid: '123', audience: 'vip' },
        { email: 'b@example.com', dataFields: { tier: 'gold' } },
      ];
      await client().subscribe(hybridList, subscribers);
      const sent = lastRequest();
      expect(sent.method).toBe('POST');
      expect(sent.path).toBe('/api/lists/subscribe');
      expect(sent.headers['api-key']).toBe(hybridKey);
      expect(sent.headers['content-type']).toBe('application/json');
      expect(sent.headers.connection).toBe('keep-alive');
      expect(sent.body).toEqual({
        listId: hybridList,
        subscribers: [
          { email: 'a@example.com', userId: 'u-a' },
          { email: 'b@example.com', dataFields: { tier: 'gold' } },
        ],
      });
    });

    it('unsubscribe sends identifiers only and always channelUnsubscribe: false', async () => {
      await client().unsubscribe(hybridList, [{ email: 'a@example.com', userId: 'u-a', dataFields: { x: 1 } }]);
      expect(lastRequest().body).toEqual({ listId: hybridList, subscribers: [{ email: 'a@example.com', userId: 'u-a' }], channelUnsubscribe: false });
    });

    it('an empty batch makes no call', async () => {
      const result = await client().subscribe(hybridList, []);
      expect(result).toMatchObject({ verdicts: [], countMismatch: false });
      expect(fake.state.requests).toHaveLength(0);
    });

    it('never puts the key in the URL', async () => {
      const c = client();
      await c.getLists();
      await c.subscribe(hybridList, [{ email: 'a@example.com' }]);
      expect(fake.state.requests.map((r) => r.path)).toEqual(['/api/lists', '/api/lists/subscribe']);
    });
  });

  describe('lists', () => {
    it('createList then getLists', async () => {
      const c = client();
      const listId = await c.createList('aud_42', 'synced from mParticle');
      expect(lastRequest().body).toEqual({ name: 'aud_42', description: 'synced from mParticle' });
      const lists = await c.getLists();
      expect(lists).toEqual([
        { id: hybridList, name: 'vip', listType: 'Standard', createdAt: expect.any(Number) },
        { id: listId, name: 'aud_42', description: 'synced from mParticle', listType: 'Standard', createdAt: expect.any(Number) },
      ]);
    });

    it('deleteList removes the list; a second delete is an unknown list', async () => {
      const c = client();
      const listId = await c.createList('to-delete');
      await c.deleteList(listId);
      expect(lastRequest()).toMatchObject({ method: 'DELETE', apiPath: `/api/lists/${listId}` });
      expect((await c.getLists()).map((l) => l.id)).not.toContain(listId);
      expect(await rejectionOf(c.deleteList(listId))).toMatchObject({ kind: 'permanent', reason: 'unknown list' });
    });

    it('forgetUser sends the identifier and keeps it out of errors', async () => {
      const c = client();
      await c.forgetUser({ email: 'gone@example.com' });
      expect(lastRequest()).toMatchObject({ method: 'POST', apiPath: '/api/users/forget', body: { email: 'gone@example.com' } });
      faults({ forced: [{ status: 400, body: { msg: 'no such user gone@example.com', code: 'BadParams' } }] });
      const error = await rejectionOf(c.forgetUser({ email: 'gone@example.com' }));
      expect(String(error)).not.toContain('gone@example.com');
    });

    it('an unreadable 200 is a retryable error, not a crash', async () => {
      faults({
        forced: [
          { status: 200, body: 'OK', contentType: 'text/plain' },
          { status: 200, body: { something: 'else' } },
        ],
      });
      const c = client();
      expect(await rejectionOf(c.subscribe(hybridList, [{ email: 'a@example.com' }]))).toMatchObject({
        kind: 'retryable',
        reason: 'server error',
        status: 200,
      });
      expect(await rejectionOf(c.getLists())).toMatchObject({ kind: 'retryable', reason: 'server error' });
    });
  });

  describe('counts', () => {
    it('flags successCount + failCount not matching the batch and logs a warning', async () => {
      faults({ forced: [{ status: 200, body: { successCount: 1, failCount: 0 } }] });
      const { logger, lines } = capturingLogger();
      const result = await client({ logger }).subscribe(hybridList, [{ email: 'a@example.com' }, { email: 'b@example.com' }]);
      expect(result.countMismatch).toBe(true);
      expect(lines).toContainEqual({ level: 'warn', message: expect.stringContaining('does not match the 2 subscribers sent') });
    });

    it('reads the deprecated top-level arrays and string counts, and reports failures named nowhere', async () => {
      faults({ forced: [{ status: 200, body: { successCount: '1', failCount: '2', invalidEmails: ['B@example.com'] } }] });
      const { logger, lines } = capturingLogger();
      const result = await client({ logger }).subscribe(hybridList, [{ email: 'a@example.com' }, { email: 'b@example.com' }]);
      expect(result.verdicts.map((v) => v.outcome.kind)).toEqual(['delivered', 'failed']);
      expect(result).toMatchObject({ countMismatch: true, unattributedFailures: 1 });
      expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    });

    it('an array in failedUpdates it does not know fails the users it names, and only them, for good', async () => {
      faults({ forced: [{ status: 200, body: { successCount: 2, failCount: 1, failedUpdates: { invalidEmails: [], suppressedEmails: ['B@example.com'] } } }] });
      const { logger, lines } = capturingLogger();
      const result = await client({ logger }).subscribe(hybridList, [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }]);
      expect(result.verdicts.map((v) => v.outcome)).toEqual([
        { kind: 'delivered' },
        { kind: 'failed', reason: 'bad request', retryable: false, detail: 'failedUpdates.suppressedEmails' },
        { kind: 'delivered' },
      ]);
      expect(result).toMatchObject({ countMismatch: false, unattributedFailures: 0 });
      expect(lines).toContainEqual({ level: 'warn', message: expect.stringContaining('arrays we do not know (failedUpdates.suppressedEmails)') });
    });
  });

  describe('errors', () => {
    const subscribeOnce = (c = client()) => rejectionOf(c.subscribe(hybridList, [{ email: 'a@example.com' }]));

    it.each<[string, FaultConfig, Record<string, unknown>]>([
      [
        '429 without Retry-After',
        { forced: [{ status: 429 }] },
        { kind: 'retryable', reason: 'rate limited', status: 429, code: 'RateLimitExceeded', retryAfterMs: undefined },
      ],
      [
        '429 with Retry-After seconds',
        { forced: [{ status: 429, retryAfterSeconds: 2 }] },
        { kind: 'retryable', reason: 'rate limited', status: 429, retryAfterMs: 2000 },
      ],
      [
        '429 from the rate limit',
        { rateLimit: { requestsPerSecond: 1, retryAfterSeconds: 1 } },
        { kind: 'retryable', reason: 'rate limited', retryAfterMs: 1000 },
      ],
      ['500 GenericError', { forced: [{ status: 500 }] }, { kind: 'retryable', reason: 'server error', status: 500, code: 'GenericError' }],
      ['503', { forced: [{ status: 503 }] }, { kind: 'retryable', reason: 'server error', status: 503 }],
      [
        '502 HTML page',
        { forced: [{ status: 502, body: '<html><title>502 Bad Gateway</title></html>', contentType: 'text/html' }] },
        { kind: 'retryable', reason: 'server error', status: 502 },
      ],
      ['connection reset', { forced: [{ reset: true }] }, { kind: 'retryable', reason: 'network error', networkCode: 'ECONNRESET', status: undefined }],
      ['413', { forced: [{ status: 413 }] }, { kind: 'split', reason: 'too large', status: 413 }],
      ['403', { forced: [{ status: 403 }] }, { kind: 'permanent', reason: 'bad api key', status: 403 }],
      ['400 BadParams', { forced: [{ status: 400 }] }, { kind: 'permanent', reason: 'bad request', status: 400, code: 'BadParams' }],
      [
        '500 carrying invalidListId',
        { forced: [{ status: 500, body: { msg: 'error.lists.invalidListId(1)', code: 'GenericError', params: null } }] },
        { kind: 'permanent', reason: 'unknown list', status: 500 },
      ],
    ])('%s', async (_name, config, expected) => {
      const c = client();
      faults(config);
      // The rate-limit case: the first call uses up the budget of 1 per second.
      if (config.rateLimit) await c.subscribe(hybridList, [{ email: 'first@example.com' }]);
      const error = await subscribeOnce(c);
      expect(error).toBeInstanceOf(IterableError);
      expect(error).toMatchObject(expected);
      expect((error as IterableError).retryable).toBe(expected.kind === 'retryable');
    });

    it('429 with Retry-After as an HTTP-date', async () => {
      faults({ forced: [{ status: 429, retryAfterSeconds: 3, retryAfterFormat: 'http-date' }] });
      const error = (await subscribeOnce()) as IterableError;
      expect(error.reason).toBe('rate limited');
      expect(error.retryAfterMs).toBeGreaterThan(1000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(3000);
    });

    it('an answer over 1 MB is not read: a retryable server error that says so', async () => {
      faults({ forced: [{ status: 500, body: hugeErrorPage(2_000_000), contentType: 'text/html' }] });
      const started = Date.now();
      const error = (await subscribeOnce()) as IterableError;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toMatchObject({ kind: 'retryable', reason: 'server error', status: 500 });
      expect(error.message).toContain('answer larger than 1048576 bytes, not read');
      expect(error.unknownOutcome).toBe(false);
    });

    it('an HTML error page just under 1 MB is read, and classified by its head at once', async () => {
      faults({ forced: [{ status: 500, body: hugeErrorPage(1_000_000), contentType: 'text/html' }] });
      const started = Date.now();
      const error = (await subscribeOnce()) as IterableError;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toMatchObject({ kind: 'retryable', reason: 'server error', status: 500 });
      expect(error.message).toContain('"<!DOCTYPE html>');
    });

    it('a Retry-After over 15 minutes is capped, and the message says what was asked', async () => {
      faults({ forced: [{ status: 429, retryAfterSeconds: 7200 }] });
      const error = (await subscribeOnce()) as IterableError;
      expect(error).toMatchObject({ kind: 'retryable', reason: 'rate limited', retryAfterMs: 900_000, retryAfterAskedMs: 7_200_000 });
      expect(error.message).toContain('retry after 900000 ms (Retry-After asked 7200000 ms, capped)');
      expect(error.toJSON()).toMatchObject({ retryAfterMs: 900_000, retryAfterAskedMs: 7_200_000 });
    });

    it('a slow answer past timeoutMs is a retryable timeout', async () => {
      faults({ slow: { delayMs: 1500 } });
      const started = Date.now();
      const error = (await subscribeOnce(client({ timeoutMs: 200 }))) as IterableError;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toMatchObject({ kind: 'retryable', reason: 'network error', networkCode: 'ETIMEDOUT' });
      expect(error.message).toContain('timed out');
      // Iterable may still apply it: the outcome is unknown, unlike a refused connection or an answered 5xx.
      expect(error.unknownOutcome).toBe(true);
    });

    it('a body over 4 MB is answered 413 and classified "split"', async () => {
      const subscribers = Array.from({ length: 2 }, (_, i) => ({ email: `big${i}@example.com`, dataFields: { blob: 'x'.repeat(2_200_000) } }));
      expect(await rejectionOf(client().subscribe(hybridList, subscribers))).toMatchObject({ kind: 'split', reason: 'too large', status: 413 });
    });

    it('an unknown key is a permanent "bad api key"', async () => {
      expect(await subscribeOnce(client({ apiKey: testApiKey('unknown') }))).toMatchObject({
        kind: 'permanent',
        reason: 'bad api key',
        status: 401,
        code: 'BadApiKey',
      });
    });

    it.each([
      ['code BadParams', {}],
      ['code "Success"', { invalidListIdCode: 'Success' }],
      ['status 500', { invalidListIdStatus: 500 }],
    ])('an unknown list (%s) is a permanent "unknown list"', async (_name, config) => {
      fake.state.setConfig(config);
      const c = client();
      for (const call of [c.subscribe(999_999, [{ email: 'a@example.com' }]), c.unsubscribe(999_999, [{ email: 'a@example.com' }])]) {
        const error = (await rejectionOf(call)) as IterableError;
        expect(error).toMatchObject({ kind: 'permanent', reason: 'unknown list' });
        expect(error.message).toContain('error.lists.invalidListId(999999)');
      }
    });

    it('a 409 answer is a permanent "conflict" (the delivery rules send the members again one by one)', async () => {
      faults({ forced: [{ status: 409 }] });
      expect(await subscribeOnce()).toMatchObject({ kind: 'permanent', reason: 'conflict', status: 409 });
    });

    it('a request Iterable refuses as BadParams (a listId that is not a number arrives as null) is a permanent "bad request"', async () => {
      const error = (await rejectionOf(client().subscribe(Number.NaN, [{ email: 'a@example.com' }]))) as IterableError;
      expect(error).toMatchObject({ kind: 'permanent', reason: 'bad request', status: 400, code: 'BadParams' });
      expect(error.message).toContain('listId: error.path.missing');
    });

    it('a wrong base URL meets the HTML 404 page: permanent, with a sensible message', async () => {
      const error = (await subscribeOnce(client({ baseUrlOverride: `${fake.url}/not-iterable` }))) as IterableError;
      expect(error).toMatchObject({ kind: 'permanent', reason: 'bad request', status: 404 });
      expect(error.message).toContain('HTML page "Action not found"');
      expect(error.message).toContain('wrong base URL or path?');
    });

    it('nothing listening is a retryable network error', async () => {
      const closed = await startFakeIterable();
      await closed.close();
      const error = (await subscribeOnce(client({ baseUrlOverride: closed.url }))) as IterableError;
      expect(error).toMatchObject({ kind: 'retryable', reason: 'network error', networkCode: 'ECONNREFUSED' });
      expect(error.unknownOutcome).toBe(false);
    });

    it.each([
      [500, false],
      [503, false],
      [504, true],
    ])('an answered %i: unknown outcome %s', async (status, unknown) => {
      faults({ forced: [{ status }] });
      expect(((await subscribeOnce(client())) as IterableError).unknownOutcome).toBe(unknown);
    });
  });

  describe('data centers', () => {
    it('an EU client with the override calls the fake under /eu', async () => {
      const eu = client({ apiKey: userIdEuKey, dataCenter: 'EU' });
      expect(eu.baseUrl).toBe(`${fake.url}/eu`);
      const result = await eu.subscribe(euList, [{ email: 'a@example.com', userId: 'u-eu' }]);
      expect(result.verdicts[0].outcome).toEqual({ kind: 'delivered' });
      expect(lastRequest()).toMatchObject({ path: '/eu/api/lists/subscribe', dataCenter: 'EU', status: 200 });
    });

    it.each([
      ['a US key sent to the EU data center', hybridKey, 'EU' as const],
      ['an EU key sent to the US data center', userIdEuKey, 'US' as const],
    ])('%s is a bad api key', async (_name, apiKey, dataCenter) => {
      expect(await rejectionOf(client({ apiKey, dataCenter }).getLists())).toMatchObject({ kind: 'permanent', reason: 'bad api key', status: 401 });
    });

    it.each([
      ['US', 'https://api.iterable.com'],
      ['EU', 'https://api.eu.iterable.com'],
    ] as const)('without an override %s uses %s', (dataCenter, url) => {
      expect(new IterableClient({ apiKey: 'k', dataCenter }).baseUrl).toBe(url);
    });

    it('refuses to be built without a key or with an unknown data center', () => {
      expect(() => new IterableClient({ apiKey: ' ', dataCenter: 'US' })).toThrow(/apiKey/);
      expect(() => new IterableClient({ apiKey: 'k', dataCenter: 'APAC' as 'US' })).toThrow(/dataCenter/);
    });
  });

  it('the API key appears in no log line, no error message, no serialized error and no inspected client', async () => {
    const { logger, lines } = capturingLogger();
    const c = client({ logger, timeoutMs: 300 });
    const errors: unknown[] = [];
    const attempt = async (call: Promise<unknown>) => {
      try {
        await call;
      } catch (error) {
        errors.push(error);
      }
    };
    await attempt(c.subscribe(hybridList, [{ email: 'ok@example.com' }]));
    faults({
      forced: [
        { status: 429, retryAfterSeconds: 1 },
        { status: 500 },
        { reset: true },
        { status: 413 },
        // An answer that echoes the key back must not carry it into messages either.
        { status: 400, body: { msg: `Invalid params: key ${hybridKey} not allowed`, code: 'BadParams', params: { apiKey: hybridKey } } },
        { status: 401, body: { msg: 'Invalid API key', code: 'BadApiKey', params: { key: hybridKey } } },
        { status: 200, body: { successCount: 5, failCount: 5, failedUpdates: { invalidEmails: [hybridKey] } } },
        { status: 502, body: `<html><title>proxy rejected ${hybridKey}</title></html>`, contentType: 'text/html' },
        { delayMs: 1000 },
      ],
    });
    for (let i = 0; i < 9; i++) await attempt(c.subscribe(hybridList, [{ email: 'a@example.com' }]));
    await attempt(c.getLists());
    await attempt(client({ logger, baseUrlOverride: `${fake.url}/nope` }).getLists());
    await attempt(c.subscribe(424242, [{ email: 'a@example.com' }]));

    expect(errors.length).toBeGreaterThanOrEqual(9);
    expect(lines.length).toBeGreaterThanOrEqual(12);
    expect(lines.some((l) => l.message.includes('[REDACTED]'))).toBe(true);
    const everything = [
      ...lines.map((l) => l.message),
      ...errors.flatMap((e) => [String(e), (e as Error).message, (e as Error).stack ?? '', JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })]),
      JSON.stringify(c),
      inspect(c, { depth: 10, showHidden: true }),
    ].join('\n');
    expect(everything).not.toContain(hybridKey);
    // Sanity: the key did go out, in the header.
    expect(fake.state.requests.every((r) => r.headers['api-key'] === hybridKey || r.status === 404)).toBe(true);
  });

  describe('with a rate limiter', () => {
    const recordingLimiter = (options: { failAcquire?: boolean } = {}) => {
      const events: string[] = [];
      const limiter: IterableRequestLimiter = {
        acquire: async (apiKey) => {
          events.push(`acquire ${apiKey === hybridKey ? 'key' : 'other'}`);
          if (options.failAcquire) throw new Error(`redis down for ${apiKey}`);
          return { sent: async () => void events.push('sent'), release: async () => void events.push('release') };
        },
        pause: async (_apiKey, ms) => void events.push(`pause ${ms}`),
      };
      return { limiter, events };
    };

    it('acquires before each call and releases after it, also when the call fails', async () => {
      const { limiter, events } = recordingLimiter();
      const c = client({ rateLimiter: limiter });
      await c.getLists();
      faults({ forced: [{ status: 500 }] });
      await rejectionOf(c.getLists());
      expect(events).toEqual(['acquire key', 'sent', 'release', 'acquire key', 'sent', 'release']);
    });

    it('runs beforeSend after the limiter granted the slot and right before sending; a throw sends nothing (fencing)', async () => {
      const { limiter, events } = recordingLimiter();
      const c = client({ rateLimiter: limiter });
      const fenced = { ours: true };
      const beforeSend = async () => {
        events.push('fence');
        if (!fenced.ours) throw new Error('lease lost');
      };
      await c.subscribe(hybridList, [{ email: 'fenced@example.com' }], { beforeSend });
      expect(fake.state.requests).toHaveLength(1);
      fenced.ours = false;
      await expect(c.unsubscribe(hybridList, [{ email: 'fenced@example.com' }], { beforeSend })).rejects.toThrow('lease lost');
      expect(fake.state.requests).toHaveLength(1);
      // The call is marked sent (for the limiter's window) only once it goes out.
      expect(events).toEqual(['acquire key', 'fence', 'sent', 'release', 'acquire key', 'fence', 'release']);
    });

    it('pauses the key for at most 15 minutes, whatever Retry-After asks', async () => {
      const { limiter, events } = recordingLimiter();
      faults({ forced: [{ status: 429, retryAfterSeconds: 86_400 }] });
      await rejectionOf(client({ rateLimiter: limiter }).getLists());
      expect(events).toEqual(['acquire key', 'sent', 'pause 900000', 'release']);
    });

    it('shares a 429 Retry-After with every process through pause()', async () => {
      const { limiter, events } = recordingLimiter();
      faults({ forced: [{ status: 429, retryAfterSeconds: 2 }, { status: 429 }] });
      const c = client({ rateLimiter: limiter });
      await rejectionOf(c.getLists());
      await rejectionOf(c.getLists());
      expect(events).toEqual(['acquire key', 'sent', 'pause 2000', 'release', 'acquire key', 'sent', 'release']);
    });

    it('a limiter that cannot acquire gives a retryable error without the key, and no call', async () => {
      const { limiter } = recordingLimiter({ failAcquire: true });
      const error = (await rejectionOf(client({ rateLimiter: limiter }).getLists())) as IterableError;
      expect(error).toMatchObject({ kind: 'retryable', reason: 'network error' });
      expect(error.message).toContain('rate limiter unavailable');
      expect(error.message).not.toContain(hybridKey);
      expect(fake.state.requests).toHaveLength(0);
    });

    it('a limiter that waited too long passes its LimiterWaitTimeoutError through, and no call is made', async () => {
      const limiter = { acquire: async () => Promise.reject(new LimiterWaitTimeoutError(5000)) };
      const error = await rejectionOf(client({ rateLimiter: limiter }).getLists());
      expect(error).toBeInstanceOf(LimiterWaitTimeoutError);
      expect(fake.state.requests).toHaveLength(0);
    });
  });
});
