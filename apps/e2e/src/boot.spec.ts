import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Agent as HttpAgent, get as httpGet, request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, assertFreshBuild, freePort, startApp, waitForHttp, WORKSPACE_ROOT } from '@audience-bridge/harness';
import { createMigratedDataSource } from '@audience-bridge/persistence/testing';

describe('the apps boot, answer health checks and stop cleanly', () => {
  const running: AppProcess[] = [];
  /** The built API on a free port, stopped after the test, once it says it listens. */
  const startApi = async (env: Record<string, string> = {}): Promise<{ api: AppProcess; port: number }> => {
    const port = await freePort();
    const api = startApp('api', { PORT: String(port), ...env });
    running.push(api);
    await api.waitFor(/API listening on/);
    return { api, port };
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  });

  it('API: GET /health/live answers 200 JSON, unknown routes a JSON 404, SIGTERM exits 0', async () => {
    const { api, port } = await startApi();

    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok' });

    const missing = await fetch(`http://127.0.0.1:${port}/no-such-route`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/json/);
    expect(await missing.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });

    expect(await api.stop('SIGTERM')).toBe(0);
    expect(api.output()).toMatch(/api stopped/);
  });

  it('API: keeps an idle keep-alive connection open longer than a load balancer would (65 s by default), so a sender reusing it is not reset', async () => {
    // Node closes an idle connection after 5 s; a sender (or a load balancer with a 60 s idle timeout) that reuses
    // it at that moment gets a reset instead of an answer (seen once in the load test on a busy machine).
    const { port } = await startApi();
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; keepAlive: string; reused: boolean }>((resolve, reject) => {
        const req = httpGet({ host: '127.0.0.1', port, path: '/health/live', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, keepAlive: String(res.headers['keep-alive']), reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    try {
      const first = await get();
      expect(first).toMatchObject({ status: 200, keepAlive: 'timeout=65', reused: false });
      await new Promise((r) => setTimeout(r, 6000));
      expect(await get()).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('API: a request in flight when SIGTERM arrives is answered, and its kept-alive connection does not hold the exit', async () => {
    const { api, port } = await startApi({ MPARTICLE_INBOUND_TOKEN: 'boot-inbound-token-0000' });
    const agent = new HttpAgent({ keepAlive: true });
    const body = JSON.stringify({ type: 'module_registration_request', id: 'r-1', timestamp_ms: 1_700_000_000_000 });
    try {
      const answered = new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/mparticle',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: 'Token boot-inbound-token-0000' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        // Half the body now, the rest after SIGTERM: the request is in flight while the API begins to stop.
        req.write(body.slice(0, 20));
        setTimeout(() => req.end(body.slice(20)), 1500);
      });
      await new Promise((r) => setTimeout(r, 500));
      const started = Date.now();
      const exited = api.stop('SIGTERM');
      expect(await answered).toBe(200);
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      agent.destroy();
    }
  }, 90_000);

  it('API with API_PROCESSES=2: two processes share the port, SIGTERM stops both and exits 0', async () => {
    const port = await freePort();
    const api = startApp('api', { PORT: String(port), API_PROCESSES: '2' });
    running.push(api);
    await waitForHttp(`http://127.0.0.1:${port}/health/live`, api);
    await api.waitFor(/API listening on[\s\S]*API listening on/);
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(api.output()).toMatch(/stopping 2 API processes[\s\S]*api stopped/);
  });

  it('worker: logs that it is ready, answers its liveness probe, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const worker = startApp('worker', { WORKER_PORT: String(port) });
    running.push(worker);
    await worker.waitFor(/worker ready/);

    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toMatch(/worker stopped/);
  });

  it('first development start: API and worker started together generate the secrets once, one of them prints the tokens, and they work', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ab-first-start-'));
    const { dataSource, database } = await createMigratedDataSource('sqlite');
    await dataSource.destroy();
    const [port, workerPort] = [await freePort(), await freePort()];
    const env = { DATABASE_URL: database.url, QUEUE_PREFIX: `ab-first-${port}` };
    const api = startApp('api', { ...env, PORT: String(port) }, { cwd });
    const worker = startApp('worker', { ...env, WORKER_PORT: String(workerPort) }, { cwd });
    running.push(api, worker);
    await waitForHttp(`http://127.0.0.1:${port}/health/live`, api);
    await waitForHttp(`http://127.0.0.1:${workerPort}/health/live`, worker);
    const announced = [api.output(), worker.output()].filter((o) => /generated development secrets/.test(o));
    expect(announced).toHaveLength(1);
    const token = announced[0].match(/ADMIN_TOKEN=(\S+)/)?.[1];
    const stats = await fetch(`http://127.0.0.1:${port}/v1/stats`, { headers: { authorization: `Bearer ${token}` } });
    expect(stats.status).toBe(200);
    await database.drop();
  });

  it('production: no /docs, /metrics only with the admin token, readiness without internals', async () => {
    const { dataSource, database } = await createMigratedDataSource('sqlite');
    await dataSource.destroy();
    const port = await freePort();
    const adminToken = 'admin-token-for-production-boot-1';
    const api = startApp('api', {
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: database.url,
      QUEUE_PREFIX: `ab-prod-${port}`,
      MPARTICLE_INBOUND_TOKEN: 'inbound-token-for-production-boot',
      ADMIN_TOKEN: adminToken,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    });
    running.push(api);
    await waitForHttp(`http://127.0.0.1:${port}/health/live`, api);
    expect(api.output()).not.toMatch(/OpenAPI at \/docs/);
    for (const path of ['/docs', '/docs-json']) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/audience_bridge_pending_changes 0/);
    expect(await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json()).toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, redis: { status: 'up' } },
      error: {},
      details: { database: { status: 'up' }, redis: { status: 'up' } },
    });
    await database.drop();
  });

  it('refuses to run end-to-end tests on a build of other sources than those checked out, naming them', () => {
    // A fake workspace: sources, and the stamps a build of them wrote (scripts/source-stamp.cjs).
    const root = mkdtempSync(join(tmpdir(), 'ab-stale-'));
    const write = (path: string, text: string) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('scripts/source-stamp.cjs', readFileSync(join(WORKSPACE_ROOT, 'scripts/source-stamp.cjs'), 'utf8'));
    write('apps/api/src/main.ts', 'main');
    write('libs/queue/src/index.ts', 'export {}');
    const stamp = (src: string, out: string) => execFileSync(process.execPath, ['scripts/source-stamp.cjs', src, out], { cwd: root });
    stamp('apps/api/src', 'dist/apps/api/.source-hash');
    stamp('libs/queue/src', 'libs/queue/dist/.source-hash');
    write('libs/queue/src/queue.spec.ts', 'tests are not built, so never stale');
    expect(() => assertFreshBuild('api', root)).not.toThrow();

    write('libs/queue/src/deep/added.ts', 'export const x = 1;');
    expect(() => assertFreshBuild('worker', root)).toThrow(/stale build: libs\/queue\/src changed after the last build; run `npm run build`/);
  });

  it.each<['api' | 'worker', string, string]>([
    ['api', 'PORT', 'not-a-port'],
    ['api', 'LOG_LEVEL', 'chatty'],
    ['api', 'DATABASE_URL', 'mysql://db'],
    ['worker', 'REDIS_URL', '127.0.0.1:6379'],
    ['worker', 'QUEUE_PREFIX', 'two words'],
  ])('%s refuses to start on %s=%s and names it', async (app, key, value) => {
    const proc = startApp(app, { [key]: value });
    running.push(proc);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(`refused to start: Invalid configuration: ${key}=`);
    expect(proc.output()).not.toMatch(/listening|worker ready/);
  });
});
