import { Redis } from 'ioredis';

import { IterableError } from './iterable.error';
import { LimiterWaitTimeoutError } from './iterable-rate.limiter';
import { ListReadLimiter } from './iterable-list-read.limiter';
import { IterableListReader, ListReadCutError, splitLines } from './iterable-list-reader';
import type { RunningFakeIterable } from './testing/fake-iterable.harness';
import { capturingLogger, rejectionOf, startFakeIterable, testApiKey } from './testing/fake-iterable.harness';
import { deleteKeysUnder, TEST_REDIS_URL, uniquePrefix } from './testing/redis.harness';

async function* from(chunks: (string | Buffer)[]): AsyncGenerator<string | Buffer> {
  for (const chunk of chunks) yield chunk;
}
const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

describe('splitLines', () => {
  const euro = Buffer.from('€@x.io\n', 'utf8');
  it.each<[string, (string | Buffer)[], string[]]>([
    ['lines cut across chunks', ['a@x.io\nb@', 'x.io\nc@x.io\n'], ['a@x.io', 'b@x.io', 'c@x.io']],
    ['CRLF line ends and blank lines', ['a@x.io\r\n\r\n', '\nb@x.io\r\n'], ['a@x.io', 'b@x.io']],
    ['a UTF-8 character cut between chunks', [euro.subarray(0, 2), euro.subarray(2)], ['€@x.io']],
    ['nothing', [], []],
  ])('%s', async (_name, chunks, lines) => {
    expect(await collect(splitLines(from(chunks)))).toEqual(lines);
  });

  it.each<[string, string[]]>([
    ['a last line without its newline (a cut mid-line)', ['a@x.io\nb@x.io\np8.c.15@ex']],
    ['a last CR without its LF', ['a@x.io\r\nb@x.io\r']],
    ['a body that is one line without a newline', ['a@x.io']],
  ])('refuses %s: the read was cut, its last piece is never yielded', async (_name, chunks) => {
    const seen: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const line of splitLines(from(chunks))) seen.push(line);
      })(),
    );
    expect(error).toBeInstanceOf(ListReadCutError);
    expect(seen).not.toContain('p8.c.15@ex');
    expect(seen.every((l) => chunks.join('').includes(`${l}\n`) || chunks.join('').includes(`${l}\r\n`))).toBe(true);
  });

  it('refuses a line past the limit without holding it', async () => {
    await expect(collect(splitLines(from(['a@x.io\n', 'x'.repeat(50), 'y'.repeat(50)]), 64))).rejects.toThrow(/a line longer than 64 characters/);
  });
});

describe('IterableListReader against the fake Iterable', () => {
  let fake: RunningFakeIterable;
  let apiKey: string;
  let listId: number;
  const reader = (options: Partial<ConstructorParameters<typeof IterableListReader>[0]> = {}) =>
    new IterableListReader({ apiKey, dataCenter: 'US', baseUrlOverride: fake.url, timeoutMs: 2000, ...options });

  beforeAll(async () => {
    fake = await startFakeIterable();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.state.reset();
    apiKey = testApiKey('reader');
    const project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
    listId = fake.state.createList(project, 'big').id;
  });

  it('streams every member of a large list, line by line, with the key in the Api-Key header only', async () => {
    const project = fake.state.projectFor(apiKey);
    fake.state.seedUsers(
      project,
      Array.from({ length: 120_000 }, (_, i) => ({ email: `m${i}@example.com`, ...(i % 2 ? { userId: `u${i}` } : {}), listIds: [listId] })),
    );
    const r = reader();
    let count = 0;
    const seen = new Set<string>();
    for await (const line of r.users(listId)) {
      count++;
      if (count % 1000 === 0) seen.add(line);
    }
    expect(count).toBe(120_000);
    expect([...seen].every((l) => /^m\d+@example\.com$/.test(l))).toBe(true);
    const [request] = fake.state.requests;
    expect(request?.path).toBe(`/api/lists/getUsers?listId=${listId}`);
    expect(request?.headers['api-key']).toBe(apiKey);
    const byId = await collect(r.users(listId, { preferUserId: true }));
    expect(fake.state.requests[1]?.path).toBe(`/api/lists/getUsers?listId=${listId}&preferUserId=true`);
    expect(byId.filter((l) => l.startsWith('u'))).toHaveLength(60_000);
    r.close();
  });

  it('stopping early closes the connection', async () => {
    fake.state.seedUsers(
      fake.state.projectFor(apiKey),
      Array.from({ length: 50_000 }, (_, i) => ({ email: `m${i}@example.com`, listIds: [listId] })),
    );
    const r = reader();
    for await (const line of r.users(listId)) if (line) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.state.statsFor(apiKey).inFlight).toBe(0);
    r.close();
  });

  it.each<[string, () => void, Partial<IterableError>]>([
    ['an unknown list', () => fake.state.deleteList(fake.state.projectFor(apiKey), listId), { kind: 'permanent', reason: 'unknown list', status: 400 }],
    ['a 503', () => fake.state.setFaults({ forced: [{ status: 503 }] }), { kind: 'retryable', reason: 'server error', status: 503 }],
    ['a reset', () => fake.state.setFaults({ forced: [{ reset: true }] }), { kind: 'retryable', reason: 'network error' }],
  ])('rejects %s with a classified IterableError, the key nowhere in it', async (_name, arrange, expected) => {
    arrange();
    const { logger, lines } = capturingLogger();
    const error = await rejectionOf(collect(reader({ logger }).users(listId)));
    expect(error).toBeInstanceOf(IterableError);
    expect(error).toMatchObject(expected);
    const text = `${String((error as Error).message)} ${JSON.stringify(error)} ${lines.map((l) => l.message).join(' ')}`;
    expect(text).not.toContain(apiKey);
  });

  describe('a read cut short is never taken whole', () => {
    const seed = (n: number) =>
      fake.state.seedUsers(
        fake.state.projectFor(apiKey),
        Array.from({ length: n }, (_, i) => ({ email: `p8.c.${i}@example.com`, listIds: [listId] })),
      );

    it('an answer that ends cleanly mid-line rejects retryably, after the whole lines only', async () => {
      seed(40);
      fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', truncateBodyAtChars: 15 * 'p8.c.00@example.com\n'.length }] });
      const seen: string[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const line of reader().users(listId)) seen.push(line);
        })(),
      );
      expect(error).toBeInstanceOf(IterableError);
      expect(error).toMatchObject({ kind: 'retryable', reason: 'network error' });
      expect((error as Error).message).toMatch(/ended mid-line .*a partial read/);
      expect(seen.every((l) => /^p8\.c\.\d+@example\.com$/.test(l))).toBe(true);
    });

    it('an answer whose last line lacks its newline rejects retryably', async () => {
      seed(3);
      fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', dropFinalNewline: true }] });
      const error = await rejectionOf(collect(reader().users(listId)));
      expect(error).toMatchObject({ kind: 'retryable', reason: 'network error' });
    });

    it('with verifySize, an answer cut at a line boundary rejects retryably (its count disagrees with the size); a whole one is taken', async () => {
      seed(40);
      const sizes: string[] = [];
      const sizeLimiter = { acquire: async (key: string) => (sizes.push(key), { release: async () => undefined }) };
      // Cut exactly after a newline: lines 0-9 are one character shorter than 10-39.
      const cutAt = 10 * 'p8.c.0@example.com\n'.length + 5 * 'p8.c.10@example.com\n'.length;
      fake.state.setFaults({ forced: [{ path: '/api/lists/getUsers', truncateBodyAtChars: cutAt, times: 1 }] });
      const r = reader({ sizeLimiter });
      const error = await rejectionOf(collect(r.users(listId, { verifySize: true })));
      expect(error).toMatchObject({ kind: 'retryable', reason: 'server error' });
      expect((error as Error).message).toContain("the answer named 15 members, Iterable's list size says 40");
      expect(await collect(r.users(listId, { verifySize: true }))).toHaveLength(40);
      expect(sizes).toEqual([apiKey, apiKey]);
      expect(fake.state.requests.filter((q) => q.apiPath === `/api/lists/${listId}/size`)).toHaveLength(2);
      // Without verifySize no size is asked.
      await collect(r.users(listId));
      expect(fake.state.requests.filter((q) => q.apiPath === `/api/lists/${listId}/size`)).toHaveLength(2);
    });

    it('size answers the count, null for an answer that is no number, and rejects an error answer classified', async () => {
      seed(7);
      const r = reader();
      expect(await r.size(listId)).toBe(7);
      fake.state.setFaults({ forced: [{ path: `/api/lists/${listId}/size`, status: 200, body: 'n/a', contentType: 'text/plain' }] });
      expect(await r.size(listId)).toBeNull();
      fake.state.setFaults({ forced: [{ path: `/api/lists/${listId}/size`, status: 503 }] });
      await expect(r.size(listId)).rejects.toMatchObject({ kind: 'retryable', reason: 'server error', status: 503 });
    });
  });

  it('rejects a wrong key with a permanent bad api key', async () => {
    const error = await rejectionOf(collect(reader({ apiKey: testApiKey('wrong') }).users(listId)));
    expect(error).toMatchObject({ kind: 'permanent', reason: 'bad api key', status: 401 });
  });

  it('a 429 past the budget carries Retry-After and pauses the read budget', async () => {
    const paused: number[] = [];
    const limiter = { acquire: async () => ({ release: async () => undefined }), pause: async (_key: string, ms: number) => void paused.push(ms) };
    for (let i = 0; i < 5; i++) await collect(reader({ limiter }).users(listId));
    const error = await rejectionOf(collect(reader({ limiter }).users(listId)));
    expect(error).toMatchObject({ kind: 'retryable', reason: 'rate limited', status: 429 });
    expect((error as IterableError).retryAfterMs).toBeGreaterThanOrEqual(59_000);
    expect(paused).toEqual([(error as IterableError).retryAfterMs]);
  });
});

describe('ListReadLimiter (Redis)', () => {
  let redis: Redis;
  let prefix: string;
  const limiters: ListReadLimiter[] = [];
  const limiter = (options: Partial<ConstructorParameters<typeof ListReadLimiter>[0]> = {}) => {
    const created = new ListReadLimiter({ redis, keyPrefix: prefix, requestsPerMinute: 2, windowMs: 1000, windowMarginMs: 0, ...options });
    limiters.push(created);
    return created;
  };

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  beforeEach(() => {
    prefix = uniquePrefix('list-reads');
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await deleteKeysUnder(redis, prefix);
  });
  afterAll(() => redis.quit());

  it('refuses a rate that is not a positive integer', () => {
    expect(() => new ListReadLimiter({ redis, requestsPerMinute: 0 })).toThrow(/requestsPerMinute/);
  });

  it('lets N reads through per window, shared by two limiters, and queues the next one (never fails it)', async () => {
    const key = testApiKey('reads');
    const [a, b] = [limiter(), limiter()];
    const started = Date.now();
    await a.acquire(key);
    await b.acquire(key);
    expect(Date.now() - started).toBeLessThan(500);
    expect(await a.used(key)).toBe(2);
    const waits: number[] = [];
    await limiter({ onWait: (ms) => waits.push(ms) }).acquire(key);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(waits.length).toBeGreaterThan(0);
    // Another key has its own budget; the key itself never reaches Redis.
    await a.acquire(testApiKey('other'));
    expect((await redis.keys(`${prefix}*`)).some((k) => k.includes(key))).toBe(false);
  });

  it('a budget of another name (list-sizes) counts apart from getUsers', async () => {
    const key = testApiKey('sizes');
    const reads = limiter();
    await reads.acquire(key);
    await reads.acquire(key);
    const sizes = limiter({ budget: 'list-sizes', maxWaitMs: 200 });
    await sizes.acquire(key);
    expect(await sizes.used(key)).toBe(1);
    expect(await reads.used(key)).toBe(2);
    await expect(limiter({ maxWaitMs: 200 }).acquire(key)).rejects.toBeInstanceOf(LimiterWaitTimeoutError);
    expect((await redis.keys(`${prefix}:list-sizes:*`)).length).toBe(1);
  });

  it('an aborted signal ends the wait at once, with its reason, and takes no grant', async () => {
    const key = testApiKey('abort');
    await limiter().pause(key, 10_000);
    const controller = new AbortController();
    const started = Date.now();
    const waiting = limiter().acquire(key, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await expect(waiting).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await limiter().used(key)).toBe(0);
  });

  it('pause holds every read of the key; maxWaitMs gives up with LimiterWaitTimeoutError', async () => {
    const key = testApiKey('pause');
    await limiter().pause(key, 1500);
    await expect(limiter({ maxWaitMs: 300 }).acquire(key)).rejects.toBeInstanceOf(LimiterWaitTimeoutError);
    const started = Date.now();
    await limiter().acquire(key);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});
