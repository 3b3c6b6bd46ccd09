import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DatabaseDriver } from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase, TestDatabaseOptions } from '@audience-bridge/persistence/testing';
import { AppProcess, freePort, startApp, waitForHttp } from './app-process';

export const INBOUND_TOKEN = 'inbound-token-for-e2e-tests-0001';
export const ADMIN_TOKEN = 'admin-token-for-e2e-tests-000001';

/** A parsed JSON answer, read loosely by tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers of many shapes
export type JsonBody = any;

export interface Stack {
  driver: DatabaseDriver;
  apiUrl: string;
  /** The environment the apps were started with (to start more processes on the same stack). */
  env: Record<string, string>;
  dataSource: DataSource;
  api: AppProcess;
  /** POST a Firehose message to /v1/mparticle with the inbound token (or the given Authorization). */
  send(body: unknown, authorization?: string | null): Promise<{ status: number; body: JsonBody; contentType: string | null }>;
  /** A request to the admin API with the admin token. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: JsonBody }>;
  /** The API's Prometheus text, scraped with the admin token. */
  metrics(): Promise<string>;
  /** Resolves when nothing of the account's lists waits: no inbox row, no member whose call went unanswered or awaits its recheck. */
  settled(accountId: number, timeoutMs?: number): Promise<void>;
  /** The WORKER_PORT of each worker started, in order. */
  workerPorts: number[];
  /** The worker processes started, in order. */
  workers: AppProcess[];
  /** Starts a worker process on this stack (stopped with the stack). */
  startWorker(extraEnv?: Record<string, string>): Promise<AppProcess>;
  stop(): Promise<void>;
}

/** A migrated database of the driver, a unique queue prefix on the local Redis, and the built API as a process. */
export async function startStack(driver: DatabaseDriver, extraEnv: Record<string, string> = {}, databaseOptions: TestDatabaseOptions = {}): Promise<Stack> {
  const { dataSource, database }: { dataSource: DataSource; database: TestDatabase } = await createMigratedDataSource(driver, databaseOptions);
  const port = extraEnv['PORT'] ? Number(extraEnv['PORT']) : await freePort();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `ab-e2e-${randomBytes(4).toString('hex')}`,
    MPARTICLE_INBOUND_TOKEN: INBOUND_TOKEN,
    ADMIN_TOKEN,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'debug',
    ...extraEnv,
  };
  const api = startApp('api', { ...env, PORT: String(port) });
  const apiUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${apiUrl}/health/live`, api);

  const workers: AppProcess[] = [];
  const workerPorts: number[] = [];
  return {
    workerPorts,
    workers,
    driver,
    apiUrl,
    env,
    dataSource,
    api,
    async send(body, authorization = `Token ${INBOUND_TOKEN}`) {
      const res = await fetch(`${apiUrl}/v1/mparticle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, contentType: res.headers.get('content-type') };
    },
    async admin(method, path, body) {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async metrics() {
      const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
      return res.text();
    },
    async settled(accountId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const id = Number(accountId);
      const lists = `(SELECT list_id FROM audience_connections WHERE account_id = ${id} UNION SELECT list_id FROM list_leases WHERE account_id = ${id})`;
      const waiting = `FROM sync_inbox WHERE list_id IN ${lists}`;
      const unsettled = `FROM list_members WHERE (state = 'unknown' OR recheck_at_ms IS NOT NULL) AND list_id IN ${lists}`;
      for (;;) {
        // Whether anything waits, not how much: polled every 100 ms during a benchmark's drain, a count of the
        // inbox and a scan of every list member would take the database's time from the drain it measures.
        const [row] = await dataSource.query(`SELECT CASE WHEN EXISTS (SELECT 1 ${waiting}) OR EXISTS (SELECT 1 ${unsettled}) THEN 1 ELSE 0 END AS w`);
        if (Number(row.w) === 0) return;
        if (Date.now() > deadline) {
          const [n] = await dataSource.query(`SELECT (SELECT COUNT(*) ${waiting}) + (SELECT COUNT(*) ${unsettled}) AS n`);
          throw new Error(`account ${accountId}: ${n.n} member(s) still waiting after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async startWorker(extra: Record<string, string> = {}) {
      const workerPort = extra['WORKER_PORT'] ? Number(extra['WORKER_PORT']) : await freePort();
      const worker = startApp('worker', { ...env, ...extra, WORKER_PORT: String(workerPort) });
      workers.push(worker);
      workerPorts.push(workerPort);
      await waitForHttp(`http://127.0.0.1:${workerPort}/health/live`, worker);
      return worker;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop('SIGTERM')));
      await api.stop('SIGTERM');
      await dataSource.destroy();
      await database.drop();
    },
  };
}

/** A membership change message in the shape mParticle sends (docs/mparticle-firehose.md §1.6). */
export function membershipMessage(
  id: string,
  timestampMs: number,
  profiles: {
    mpid: string;
    email?: string;
    customerId?: string;
    /** A list id, or any text as a malformed setting would carry it. */
    audiences: { audienceId: number; listId: number | string; action: 'add' | 'delete' | 'attribute_update' }[];
  }[],
  account: { accountId?: number; apiKey?: string; userIdField?: 'customerId' | 'mpid' } = {},
): Record<string, unknown> {
  return {
    type: 'audience_membership_change_request',
    id,
    timestamp_ms: timestampMs,
    firehose_version: '3.2.0',
    account: {
      account_id: account.accountId ?? 4242,
      account_settings: { apiKey: account.apiKey ?? 'e2e-iterable-key-0000000000000000', userIdField: account.userIdField ?? 'customerId' },
    },
    user_profiles: profiles.map((p) => ({
      mpid: p.mpid,
      user_identities: [
        ...(p.email ? [{ type: 'email', encoding: 'raw', value: p.email }] : []),
        ...(p.customerId ? [{ type: 'customer', encoding: 'raw', value: p.customerId }] : []),
      ],
      audiences: p.audiences.map((a) => ({
        audience_id: a.audienceId,
        audience_name: `Audience ${a.audienceId}`,
        audience_subscription_settings: { listId: String(a.listId) },
        action: a.action,
      })),
    })),
  };
}
