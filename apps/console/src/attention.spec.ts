import { attentionItems } from './attention';
import type { ConnectionRow } from './types';

const row = (patch: Partial<ConnectionRow>): ConnectionRow => ({
  accountId: 1,
  audienceId: 10,
  audienceName: 'VIP',
  listId: 100,
  status: 'active',
  connectionStatus: 'active',
  accountStatus: 'active',
  reason: null,
  suspendedBy: null,
  dryRun: false,
  userIdField: 'customerId',
  apiKeyLast4: '0001',
  lastSuccessAt: null,
  last24h: { adds: 0, removes: 0, failed: 0 },
  held: 0,
  pending: 0,
  oldestPendingAgeMs: null,
  listMembers: 0,
  failedMembers: 0,
  failing: null,
  ...patch,
});

describe('attentionItems', () => {
  it('has nothing to say about healthy connections', () => {
    expect(attentionItems([row({}), row({ audienceId: 11, listId: 101 })])).toEqual([]);
  });

  it('puts suspensions first, then retrying lists and held changes, then refused members and dry runs', () => {
    const items = attentionItems([
      row({ audienceId: 10, dryRun: true, status: 'dry-run', failedMembers: 3 }),
      row({ audienceId: 11, listId: 101, held: 0, failing: { since: '2026-11-30T11:00:00Z', attempts: 4, nextAttemptAt: null, lastError: 'HTTP 503' } }),
      row({ audienceId: 12, listId: null, status: 'held', held: 7 }),
      row({ accountId: 2, audienceId: 20, listId: 200, status: 'suspended', suspendedBy: 'account', accountStatus: 'suspended', reason: 'bad API key' }),
      row({ accountId: 2, audienceId: 21, listId: 201, status: 'suspended', suspendedBy: 'account', accountStatus: 'suspended', reason: 'bad API key' }),
      row({
        accountId: 3,
        audienceId: 30,
        listId: 300,
        status: 'suspended',
        suspendedBy: 'connection',
        connectionStatus: 'suspended',
        reason: 'list 300 does not exist',
      }),
      row({ accountId: 4, audienceId: 40, listId: 400, status: 'removed', connectionStatus: 'removed', failedMembers: 9 }),
    ]);
    expect(items.map((i) => [i.severity, i.title])).toEqual([
      ['critical', 'Account 2 is suspended'],
      ['critical', 'Suspended: account 3 · "VIP" → list 300'],
      ['warning', 'List 101 is retrying after errors'],
      ['warning', '7 held changes: account 1 · "VIP"'],
      ['info', '3 members refused on list 100'],
      ['info', 'Account 1 is in dry run'],
    ]);
    expect(items[0].detail).toMatch(/^bad API key\. /);
    expect(items[2].detail).toMatch(/4 tries; last error: HTTP 503/);
  });

  it('counts refused members once per list, whichever audiences share it', () => {
    const items = attentionItems([row({ audienceId: 10, failedMembers: 2 }), row({ audienceId: 11, failedMembers: 2 })]);
    expect(items.map((i) => i.title)).toEqual(['2 members refused on list 100']);
  });
});
