import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AppProcess, freePort, startApp, waitFor } from '@audience-bridge/harness';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';

// A dependency that is down: each app says once, clearly, which one and what to do (no stack per retry, no
// credentials), keeps retrying, says once when it is back, and public readiness names only the failing check.

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'g')) ?? []).length;

/** A throwaway redis-server on its own port, to stop and start under the apps. */
function startRedis(port: number, password?: string): Promise<ChildProcess> {
  const auth = password ? ['--requirepass', password] : [];
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', ...auth], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (/Ready to accept connections/.test(chunk.toString())) resolve(child);
    });
  });
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
}

describe('dependencies that are down (real API and worker processes)', () => {
  const running: AppProcess[] = [];
  const redises: ChildProcess[] = [];
  let database: TestDatabase;
  beforeAll(async () => {
    const migrated = await createMigratedDataSource('postgres');
    await migrated.dataSource.destroy();
    database = migrated.database;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    await Promise.all(redises.splice(0).map(stopRedis));
  });
  afterAll(async () => {
    await database.drop();
  });

  const secrets = () => ({
    MPARTICLE_INBOUND_TOKEN: 'inbound-token-for-deps-test-0001',
    ADMIN_TOKEN: 'admin-token-for-deps-test-000001',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  });

  it('Redis down: the API starts, says so once without credentials, readiness names only "redis", and it says once when Redis is back', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const redisUrl = `redis://:red1s-pa55word@127.0.0.1:${redisPort}`;
    const api = startApp('api', { ...secrets(), PORT: String(port), DATABASE_URL: database.url, REDIS_URL: redisUrl, QUEUE_PREFIX: `ab-deps-${port}` });
    running.push(api);
    await api.waitFor(/API listening on/);

    for (let i = 0; i < 3; i++) {
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(503);
      const text = await ready.text();
      expect(JSON.parse(text)).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'redis: down' });
    }
    await new Promise((r) => setTimeout(r, 2500));
    const down = /redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable \([A-Z]+\): is Redis running\? README "Set up"/;
    expect(count(api.output(), down)).toBe(1);
    expect(api.output()).not.toMatch(/red1s-pa55word|Unhandled error event|at TCPConnectWrap/);

    redises.push(await startRedis(redisPort, 'red1s-pa55word'));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 20_000);
    await api.waitFor(/redis at redis:\/\/127\.0\.0\.1:\d+ is reachable again/);
    expect(count(api.output(), down)).toBe(1);
  }, 60_000);

  it('Redis down: the worker says so once, prints no ioredis stack per retry, and gets ready when Redis comes', async () => {
    const [workerPort, redisPort] = [await freePort(), await freePort()];
    const worker = startApp('worker', {
      ...secrets(),
      WORKER_PORT: String(workerPort),
      DATABASE_URL: database.url,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      QUEUE_PREFIX: `ab-deps-${workerPort}`,
    });
    running.push(worker);
    await worker.waitFor(/redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
    await new Promise((r) => setTimeout(r, 3000));
    expect(count(worker.output(), /is unreachable/g)).toBe(1);
    expect(worker.output()).not.toMatch(/Unhandled error event|at TCPConnectWrap/);

    redises.push(await startRedis(redisPort));
    await worker.waitFor(/worker ready/, 30_000);
    await worker.waitFor(/is reachable again/, 10_000);
  }, 60_000);

  it('database down: the API waits, says so once (no password, no stack), and starts when it can reach it', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const url = `postgres://postgres:pg-pa55word@127.0.0.1:${deadPort}${new URL(database.url).pathname}`;
    const api = startApp('api', { ...secrets(), PORT: String(port), DATABASE_URL: url, QUEUE_PREFIX: `ab-deps-${port}` });
    running.push(api);
    await api.waitFor(/database at postgres:\/\/127\.0\.0\.1:\d+\/\S+ is unreachable \(ECONNREFUSED\): is PostgreSQL running\?/);
    await new Promise((r) => setTimeout(r, 4000));
    expect(count(api.output(), /is unreachable/g)).toBe(1);
    expect(api.output()).not.toMatch(/pg-pa55word|Unable to connect to the database|at TCPConnectWrap/);
    expect(api.output()).not.toMatch(/API listening on/);
  }, 30_000);
});
