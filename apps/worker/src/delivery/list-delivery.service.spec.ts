import { Test } from '@nestjs/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Environment, validateEnvironment } from '@audience-bridge/config';
import { RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { IterableClient, LimiterWaitTimeoutError } from '@audience-bridge/iterable-client';
import {
  AccountsRepository,
  ApiKeyCipher,
  AudienceConnectionsRepository,
  createMigratedDataSource,
  Database,
  DeliveryRepository,
  ListLeasesRepository,
  MembershipIngestRepository,
  MembershipsRepository,
  TestDatabase,
} from '@audience-bridge/persistence';
import { ListSyncProducer } from '@audience-bridge/queue';
import { WorkerMetrics } from '../metrics/worker-metrics.service';
import { IterableClientsService } from './iterable-clients.service';
import { ListDeliveryService } from './list-delivery.service';

// The delivery service on its own (Nest testing module, SQLite, the in-process fake Iterable): the failure
// paths a whole-stack test cannot aim at.
describe('ListDeliveryService', () => {
  let fake: RunningFakeIterable;
  let dataSource: DataSource;
  let database: TestDatabase;
  let service: ListDeliveryService;
  let ingest: MembershipIngestRepository;
  let leases: ListLeasesRepository;
  let apiKey: string;
  let listId: number;
  /** What the next client's limiter does: undefined lets every call through. */
  let limiterFails: Error | undefined;
  let accountId = 1;

  beforeAll(async () => {
    fake = await startFakeIterable();
    ({ dataSource, database } = await createMigratedDataSource('sqlite'));
    const db = new Database(dataSource);
    const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
    ingest = new MembershipIngestRepository(db, cipher, 0);
    leases = new ListLeasesRepository(db);
    const env: Environment = validateEnvironment({ NODE_ENV: 'test', DELIVERY_RETRY_BASE_MS: '100', LIST_LEASE_TTL_MS: '5000', ITERABLE_TIMEOUT_MS: '1000' });
    const clients = {
      clientFor: (account: { iterableApiKey: string }) =>
        new IterableClient({
          apiKey: account.iterableApiKey,
          dataCenter: 'US',
          baseUrlOverride: fake.url,
          timeoutMs: 1000,
          rateLimiter: {
            acquire: async () => {
              if (limiterFails) throw limiterFails;
              return { release: async () => undefined };
            },
          },
        }),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        ListDeliveryService,
        { provide: Environment, useValue: env },
        { provide: ListLeasesRepository, useValue: leases },
        { provide: DeliveryRepository, useValue: new DeliveryRepository(db, leases) },
        { provide: AccountsRepository, useValue: new AccountsRepository(db, cipher) },
        { provide: AudienceConnectionsRepository, useValue: new AudienceConnectionsRepository(db) },
        { provide: IterableClientsService, useValue: clients },
        { provide: WorkerMetrics, useValue: new WorkerMetrics(new MembershipsRepository(db), { depth: async () => 0 } as unknown as ListSyncProducer, db) },
      ],
    }).compile();
    service = moduleRef.get(ListDeliveryService);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
    await fake.close();
  });
  beforeEach(async () => {
    limiterFails = undefined;
    fake.state.setFaults({});
    accountId++;
    apiKey = `it-key-${randomUUID()}`;
    listId = fake.state.createList(fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' }), `l${accountId}`).id;
  });

  async function accept(emails: string[], action: 'add' | 'delete' = 'add', timestampMs = 1000): Promise<void> {
    const id = randomUUID();
    await ingest.record({
      accountId,
      messageId: id,
      timestampMs,
      settings: { apiKey, userIdField: 'customerId', dataCenter: 'US' },
      connections: [{ audienceId: 1, audienceName: 'A', listId }],
      changes: emails.map((email) => ({ accountId, audienceId: 1, listId, userKey: email, action, subscriber: { email }, sourceMessageId: id, timestampMs })),
    });
  }
  const members = () => (fake.state.members(listId) ?? []).map((m) => m.email).sort();
  const inbox = async () => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM sync_inbox WHERE list_id = ${listId}`))[0].n);
  const sent = (path: string) => fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === path);

  it('sends removals before additions and brings the list to the newest state', async () => {
    await accept(['a@example.com', 'b@example.com']);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    await accept(['a@example.com'], 'delete', 2000);
    await accept(['c@example.com'], 'add', 2000);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['b@example.com', 'c@example.com']);
    const order = fake.state.requests.filter((r) => r.apiKey === apiKey).map((r) => r.apiPath);
    expect(order).toEqual(['/api/lists/subscribe', '/api/lists/unsubscribe', '/api/lists/subscribe']);
    expect(await inbox()).toBe(0);
  });

  it('splits a batch Iterable answers 413 in halves, and delivers every member', async () => {
    await accept(['a@example.com', 'b@example.com', 'c@example.com']);
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 413 }] });
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    const sizes = sent('/api/lists/subscribe').map((r) => (JSON.parse(typeof r.body === 'string' ? r.body : JSON.stringify(r.body)) as { subscribers: unknown[] }).subscribers.length);
    expect(sizes).toEqual([3, 2, 1]);
    expect(members()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  it('records a member too large for any call as failed, and sends the rest', async () => {
    await accept(['huge@example.com', 'fine@example.com']);
    // An identity of 4 MB, written straight into the desired state (the API refuses such values; SQLite does not).
    await dataSource.query(`UPDATE memberships SET user_id = '${'u'.repeat(4_000_000)}' WHERE email = 'huge@example.com'`);
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    const [row] = await dataSource.query(`SELECT state, reason FROM list_members WHERE member_key = 'huge@example.com'`);
    expect(row).toMatchObject({ state: 'failed', reason: 'too large' });
    expect(members()).toEqual(['fine@example.com']);
    expect(await inbox()).toBe(0);
  });

  it('sends nothing once another delivery has taken the list (fenced right before the call)', async () => {
    await accept(['a@example.com']);
    // Another worker takes the list while this one is between its read and its call.
    const original = leases.fence.bind(leases);
    let calls = 0;
    leases.fence = async (lease, ttl, manager, now) => {
      calls++;
      if (calls === 1) await dataSource.query(`UPDATE list_leases SET holder = 'other', generation = generation + 1 WHERE list_id = ${listId}`);
      return original(lease, ttl, manager, now);
    };
    try {
      expect(await service.syncList(listId)).toEqual({ kind: 'busy' });
    } finally {
      leases.fence = original;
    }
    expect(sent('/api/lists/subscribe')).toHaveLength(0);
    expect(await inbox()).toBe(1);
  });

  it('gives the list back for a retry when the shared limiter has no slot in time, with nothing sent', async () => {
    await accept(['a@example.com']);
    limiterFails = new LimiterWaitTimeoutError(1700);
    expect(await service.syncList(listId)).toEqual({ kind: 'retry', inMs: 1000 });
    expect(sent('/api/lists/subscribe')).toHaveLength(0);
    expect(await inbox()).toBe(1);
  });

  it('backs the list off on a transient failure and keeps every change waiting', async () => {
    await accept(['a@example.com']);
    fake.state.setFaults({ forced: [{ times: 1, path: '/api/lists/subscribe', status: 503 }] });
    const result = await service.syncList(listId);
    expect(result.kind).toBe('retry');
    expect(await inbox()).toBe(1);
    // A signal before the backoff is over does nothing but say how long is left.
    expect((await service.syncList(listId)).kind).toBe('retry');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await service.syncList(listId)).toEqual({ kind: 'done' });
    expect(members()).toEqual(['a@example.com']);
  });
});
