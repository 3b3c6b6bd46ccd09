import { Test } from '@nestjs/testing';
import BetterSqlite3 from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  AccountsRepository,
  ApiKeyCipher,
  AudienceConnectionsRepository,
  CreatedListsRepository,
  Database,
  ErasureRepository,
  isStorageUnavailable,
  MembershipIngestRepository,
  ListLeasesRepository,
  MembershipsRepository,
} from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';
import { DependencyState, Environment } from '@audience-bridge/config';
import { ListSyncProducer, REDIS_STATE, SyncListJobData } from '@audience-bridge/queue';
import { SECRETS } from '../auth/secrets';
import { ApiMetrics } from '../metrics/api-metrics';
import { ListProvisioner } from './list-provisioner.service';
import { MparticleService } from './mparticle.service';

const TOKEN = 'inbound-token-for-unit-tests-0001';

// The mParticle service on its own (Nest testing module, SQLite, a recording producer): how a message is
// answered and what it signals, for the cases a whole-stack test does not aim at.
describe('MparticleService', () => {
  let dataSource: DataSource;
  let database: TestDatabase;
  let service: MparticleService;
  let metrics: ApiMetrics;
  const signalled: number[] = [];
  let accountId = 10;

  beforeAll(async () => {
    ({ dataSource, database } = await createMigratedDataSource('sqlite'));
    const db = new Database(dataSource);
    const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
    const producer = {
      enqueue: async (lists: SyncListJobData[]) => {
        signalled.push(...lists.map((l) => l.listId));
      },
      depth: async () => 0,
    } as unknown as ListSyncProducer;
    metrics = new ApiMetrics(
      { API_PROCESSES: 1 } as Environment,
      new MembershipsRepository(db),
      new AudienceConnectionsRepository(db),
      new ListLeasesRepository(db),
      producer,
      db,
    );
    const moduleRef = await Test.createTestingModule({
      providers: [
        MparticleService,
        {
          provide: SECRETS,
          useValue: { MPARTICLE_INBOUND_TOKEN: TOKEN, ADMIN_TOKEN: 'unused-admin-token-000000', ENCRYPTION_KEY: randomBytes(32).toString('base64') },
        },
        { provide: MembershipIngestRepository, useValue: new MembershipIngestRepository(db, cipher, 0) },
        { provide: AccountsRepository, useValue: new AccountsRepository(db, cipher) },
        { provide: AudienceConnectionsRepository, useValue: new AudienceConnectionsRepository(db) },
        { provide: ErasureRepository, useValue: new ErasureRepository(db, cipher) },
        { provide: CreatedListsRepository, useValue: new CreatedListsRepository(db, cipher) },
        { provide: ListProvisioner, useValue: new ListProvisioner({ ITERABLE_TIMEOUT_MS: 1000 } as Environment, new CreatedListsRepository(db, cipher)) },
        { provide: ListSyncProducer, useValue: producer },
        { provide: ApiMetrics, useValue: metrics },
        { provide: REDIS_STATE, useValue: new DependencyState('redis', 'redis://127.0.0.1:6379', { log: () => undefined, warn: () => undefined }) },
      ],
    }).compile();
    service = moduleRef.get(MparticleService);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });
  beforeEach(() => {
    signalled.length = 0;
    accountId++;
  });

  const message = (t: number, apiKey: string, audiences: { audience_id: number; listId?: string; action: 'add' | 'delete' }[], userIdField = 'customerId') => ({
    type: 'audience_membership_change_request',
    id: randomUUID(),
    timestamp_ms: t,
    firehose_version: '3.2.0',
    account: { account_id: accountId, account_settings: { apiKey, userIdField } },
    user_profiles: [
      {
        mpid: '77',
        user_identities: [{ type: 'email', encoding: 'raw', value: 'unit@example.com' }],
        audiences: audiences.map((a) => ({
          audience_id: a.audience_id,
          audience_name: `A${a.audience_id}`,
          action: a.action,
          ...(a.listId ? { audience_subscription_settings: { listId: a.listId } } : {}),
        })),
      },
    ],
  });
  const answer = (body: unknown) => service.handle(body, `Token ${TOKEN}`) as Promise<{ suspend_subscription?: boolean }>;

  it('signals the list of a routable audience and holds one without a list, answering without suspension', async () => {
    const result = await answer(
      message(1000, 'key-00000001', [
        { audience_id: 1, listId: '501', action: 'add' },
        { audience_id: 2, action: 'add' },
      ]),
    );
    expect(result.suspend_subscription ?? false).toBe(false);
    expect(signalled).toEqual([501]);
    const [held] = await dataSource.query(`SELECT list_id FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 2`);
    expect(held).toEqual({ list_id: null });
  });

  it('asks mParticle to suspend when nothing of the message can be delivered', async () => {
    const result = await answer(message(1000, 'key-00000001', [{ audience_id: 3, action: 'add' }]));
    expect(result.suspend_subscription).toBe(true);
    expect(signalled).toEqual([]);
  });

  it('counts a new API key from mParticle once, and not an older message that still carries the old one', async () => {
    const before = async () => Number(/audience_bridge_api_key_changes_total\{source="mparticle"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0);
    const start = await before();
    await answer(message(1000, 'key-00000001', [{ audience_id: 1, listId: '601', action: 'add' }]));
    await answer(message(3000, 'key-00000002', [{ audience_id: 1, listId: '601', action: 'add' }]));
    await answer(message(2000, 'key-00000001', [{ audience_id: 1, listId: '601', action: 'add' }]));
    expect((await before()) - start).toBe(1);
    const [account] = await dataSource.query(`SELECT api_key_last4 FROM accounts WHERE account_id = ${accountId}`);
    expect(account.api_key_last4).toBe('0002');
  });

  // Issue 21 §1 on the embedded default: the API's own SQLite connection made full (PRAGMA max_page_count).
  // No message is acknowledged unless another connection sees it; sent again after space returns, each is stored once.
  it('acknowledges nothing that is not committed while SQLite is full, and stores each message once when sent again', async () => {
    const raw = (dataSource.driver as unknown as { databaseConnection: { pragma(sql: string, o?: object): unknown } }).databaseConnection;
    const otherConnection = () => {
      const other = new BetterSqlite3(database.url.slice('sqlite:'.length), { readonly: true });
      try {
        return other.prepare(`SELECT COUNT(*) AS n FROM received_messages WHERE account_id = ?`).get(accountId) as { n: number };
      } finally {
        other.close();
      }
    };
    await answer(message(1000, 'key-00000001', [{ audience_id: 1, listId: '701', action: 'add' }]));
    raw.pragma(`max_page_count = ${Number(raw.pragma('page_count', { simple: true }))}`);
    const messages = Array.from({ length: 30 }, (_, i) => {
      const m = message(2000 + i, 'key-00000001', [{ audience_id: 1, listId: '701', action: 'add' }]);
      const [profile] = m.user_profiles;
      m.user_profiles = Array.from({ length: 20 }, (_, p) => ({
        ...profile,
        mpid: String(10_000 + i * 100 + p),
        user_identities: [{ type: 'email', encoding: 'raw', value: `${'x'.repeat(150)}${i}.${p}@example.com` }],
      }));
      return m;
    });
    const outcomes = await Promise.allSettled(messages.map((m) => answer(m)));
    const acknowledged = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => isStorageUnavailable((o as PromiseRejectedResult).reason))).toBe(true);
    expect(acknowledged).toBeLessThan(30);
    expect(otherConnection().n).toBe(1 + acknowledged);

    raw.pragma('max_page_count = 1073741823');
    for (const m of messages) await answer(m);
    expect(otherConnection().n).toBe(31);
    const [{ n }] = await dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = ${accountId}`);
    expect(n).toBe(1 + 30 * 20);
  });

  // Model checker seed 905 (PostgreSQL): the audience's settings travel inside an erased subject's profile. They are
  // mParticle's settings, not the subject's data: they apply whether the message arrives before or after the erasure.
  it("applies the audience settings a message states even when its only profile is an erased subject's", async () => {
    await answer(message(1000, 'key-00000001', [{ audience_id: 1, listId: '801', action: 'add' }]));
    const erasure = {
      type: 'dsr_processing_request',
      id: randomUUID(),
      timestamp_ms: 5000,
      firehose_version: '3.2.0',
      account: { account_id: accountId, account_settings: { apiKey: 'key-00000001', userIdField: 'customerId' } },
      subject_request_id: randomUUID(),
      subject_request_type: 'erasure',
      regulation: 'gdpr',
      submitted_time: new Date(5000).toISOString(),
      api_version: '3.0',
      subject_identities: { email: { encoding: 'raw', value: 'unit@example.com' } },
    };
    await service.handle(erasure, `Token ${TOKEN}`);
    signalled.length = 0;
    // Stamped before the erasure (so its change is dropped), after the audience was connected to list 801.
    await answer(message(3000, 'key-00000001', [{ audience_id: 1, listId: '802', action: 'add' }]));
    const [connection] = await dataSource.query(`SELECT list_id FROM audience_connections WHERE account_id = ${accountId} AND audience_id = 1`);
    expect(Number(connection.list_id)).toBe(802);
    const [{ n }] = await dataSource.query(`SELECT COUNT(*) AS n FROM memberships WHERE account_id = ${accountId}`);
    expect(Number(n)).toBe(0);
    expect(signalled.sort()).toEqual([801, 802]);
  });

  it('refuses a message without the inbound token', async () => {
    await expect(service.handle(message(1000, 'key-00000001', []), 'Token wrong-token')).rejects.toThrow(/Authorization/);
  });
});
