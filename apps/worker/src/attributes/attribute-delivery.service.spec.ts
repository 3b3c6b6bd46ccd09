import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Environment, validateEnvironment } from '@audience-bridge/config';
import { FakeProject, RunningFakeIterable, startFakeIterable } from '@audience-bridge/fake-iterable';
import { AccountsRepository, ApiKeyCipher, AttributesRepository, Database, DRIVERS, MembershipIngestRepository } from '@audience-bridge/persistence';
import { createMigratedDataSource, TestDatabase } from '@audience-bridge/persistence/testing';
import { IterableClientsService } from '../delivery/iterable-clients.service';
import { clientOnFake } from '../testing/client-on-fake';
import { AttributeDeliveryService } from './attribute-delivery.service';

// Two attribute workers and one account (SQLite and PostgreSQL, the in-process fake Iterable): the worker that
// holds the account's lease is the only one whose call has the last word. Model checker seed 2133 PostgreSQL: a
// worker SIGSTOPped past its lease sent a user's older `plan` after the worker that took over sent the newer one.
describe.each(DRIVERS)('AttributeDeliveryService, two workers, on %s', (driver) => {
  // A third of it (the wait after which a call is fenced again) outlasts a recheck's due time: timeout and late window.
  const TTL_MS = 6000;
  let fake: RunningFakeIterable;
  let dataSource: DataSource;
  let database: TestDatabase;
  let ingest: MembershipIngestRepository;
  let attributes: AttributesRepository;
  let workerA: AttributeDeliveryService;
  let workerB: AttributeDeliveryService;
  /** Runs once, the next time a call waits for the rate limiter. */
  let whileWaiting: (() => Promise<void>) | undefined;
  let accountId = 0;
  let apiKey: string;
  let project: FakeProject;

  beforeAll(async () => {
    fake = await startFakeIterable();
    ({ dataSource, database } = await createMigratedDataSource(driver));
    const db = new Database(dataSource);
    const cipher = new ApiKeyCipher(randomBytes(32).toString('base64'));
    ingest = new MembershipIngestRepository(db, cipher, 0);
    attributes = new AttributesRepository(db);
    const env: Environment = validateEnvironment({
      NODE_ENV: 'test',
      LIST_LEASE_TTL_MS: String(TTL_MS),
      ITERABLE_TIMEOUT_MS: '1000',
      ITERABLE_LATE_APPLY_WINDOW_MS: '300',
      DELIVERY_RETRY_BASE_MS: '100',
    });
    const clients = {
      attributesClientFor: (account: { iterableApiKey: string }) =>
        clientOnFake(fake.url, account.iterableApiKey, async () => {
          const hook = whileWaiting;
          whileWaiting = undefined;
          if (hook) await hook();
        }),
    } as unknown as IterableClientsService;
    const accounts = new AccountsRepository(db, cipher);
    [workerA, workerB] = [0, 1].map(() => new AttributeDeliveryService(env, attributes, accounts, clients)) as [
      AttributeDeliveryService,
      AttributeDeliveryService,
    ];
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
    await fake.close();
  });
  beforeEach(() => {
    whileWaiting = undefined;
    accountId++;
    apiKey = `attr-key-${randomUUID()}`;
    project = fake.state.createProject({ apiKey, type: 'hybrid', dataCenter: 'US' });
  });

  /** An accepted message setting u1's `plan`, stamped `at`. */
  const plan = async (value: string, at: number) => {
    const id = randomUUID();
    await ingest.record({
      accountId,
      messageId: id,
      timestampMs: at,
      settings: { apiKey, userIdField: 'customerId', dataCenter: 'US' },
      connections: [{ audienceId: 1, audienceName: 'A', listId: 77 }],
      changes: [],
      attributes: [
        {
          accountId,
          userKey: 'u1',
          key: 'plan',
          valueJson: JSON.stringify(value),
          skipReason: null,
          mpid: 'u1',
          email: 'u1@example.com',
          userId: 'c1',
          sourceMessageId: id,
          timestampMs: at,
        },
      ],
    });
  };
  const planAtIterable = () => fake.state.userFields(project, { email: 'u1@example.com' })?.['plan'];
  const calls = () => fake.state.requests.filter((r) => r.apiKey === apiKey && r.apiPath === '/api/users/bulkUpdate').length;
  /** Worker B takes the account over (A's lease made to lapse, as a pause past it would) and sends the newer plan. */
  const takeOverWithNewerPlan = async () => {
    await dataSource.query(`UPDATE attribute_leases SET expires_at_ms = 0 WHERE account_id = ${accountId}`);
    await plan('plan-2', 2000);
    await workerB.tick();
    expect(planAtIterable()).toBe('plan-2');
  };

  /** A's rechecks come due: the call's timeout and the late window after it began, and a margin. */
  const untilRechecksDue = () => new Promise((resolve) => setTimeout(resolve, 1000 + 300 + 200));
  /** As `takeOverWithNewerPlan`, and A stays paused until its rechecks are due, which B sends meanwhile. */
  const takeOverAndUseTheRechecks = async () => {
    await takeOverWithNewerPlan();
    await untilRechecksDue();
    await workerB.tick();
    expect(calls()).toBe(2);
  };

  it('sends nothing when another worker took the account while the call waited longer than a third of the lease', async () => {
    await plan('plan-0', 1000);
    whileWaiting = async () => {
      await new Promise((resolve) => setTimeout(resolve, TTL_MS / 3 + 100));
      await takeOverWithNewerPlan();
    };
    await workerA.tick();
    expect(planAtIterable()).toBe('plan-2');
    expect(calls()).toBe(1);
    // Nothing of A's is left to send again: its rechecks were dropped with the call it did not make.
    expect(Number((await dataSource.query(`SELECT COUNT(*) AS n FROM attribute_inbox WHERE account_id = ${accountId}`))[0].n)).toBe(0);
  });

  it('sends the newest fields again when a call that went out after the account was taken over had the last word', async () => {
    await plan('plan-0', 1000);
    // Taken over right after the fence, before the call left (a pause the lease cannot see): A's older call lands last.
    whileWaiting = takeOverWithNewerPlan;
    await workerA.tick();
    expect(planAtIterable()).toBe('plan-0');
    // A's settlement found the account taken: its rechecks stay, and once due the newest plan goes out again.
    await untilRechecksDue();
    await workerB.tick();
    expect(planAtIterable()).toBe('plan-2');
  });

  it('sends the newest fields again when the late call lands after the worker that took over has used its rechecks', async () => {
    await plan('plan-0', 1000);
    whileWaiting = takeOverAndUseTheRechecks;
    await workerA.tick();
    expect(planAtIterable()).toBe('plan-0');
    // A's settlement found the account taken: whatever of its own is left, the user's newest fields go out once more.
    await workerB.tick();
    expect(planAtIterable()).toBe('plan-2');
  });

  it('sends the newest fields again when the late call, never answered, applies after the worker that took over has used its rechecks', async () => {
    await plan('plan-0', 1000);
    whileWaiting = async () => {
      await takeOverAndUseTheRechecks();
      // A's call then gets no answer within its timeout, and Iterable applies it after that.
      fake.state.setFaults({ slow: { delayMs: 1200, fraction: 1 } });
    };
    await workerA.tick();
    fake.state.setFaults({});
    await new Promise((resolve) => setTimeout(resolve, 300 + 300));
    expect(planAtIterable()).toBe('plan-0');
    await workerB.tick();
    expect(planAtIterable()).toBe('plan-2');
  });
});
