import { DomainError } from '@audience-bridge/domain';
import type { FirehoseAccount } from './firehose-messages';
import { MAX_LIST_NAME_LENGTH, listNameCandidates, listNameFor, parseAccountSettings, parseListSettings } from './message-settings';

const account = (settings: Record<string, string | null>): FirehoseAccount => ({ account_id: 1, account_settings: settings }) as FirehoseAccount;

describe('parseAccountSettings', () => {
  it.each<[string, Record<string, string | null>, Record<string, unknown>]>([
    ['defaults', {}, { userIdField: 'customerId', dataCenter: 'US' }],
    ['the key, trimmed', { apiKey: ' key-1234 ' }, { apiKey: 'key-1234' }],
    ['MPID', { userIdField: 'MPID' }, { userIdField: 'mpid' }],
    [' mpid ', { userIdField: ' mpid ' }, { userIdField: 'mpid' }],
    ['mParticle ID', { userIdField: 'mParticle ID' }, { userIdField: 'mpid' }],
    ['mparticle_id', { userIdField: 'mparticle_id' }, { userIdField: 'mpid' }],
    [' customerid ', { userIdField: ' customerid ' }, { userIdField: 'customerId' }],
    ['Customer_ID', { userIdField: 'Customer_ID' }, { userIdField: 'customerId' }],
    ['customer-id', { userIdField: 'customer-id' }, { userIdField: 'customerId' }],
    ['eu', { dataCenter: ' eu ' }, { dataCenter: 'EU' }],
    ['a null setting is the default', { userIdField: null, dataCenter: null }, { userIdField: 'customerId', dataCenter: 'US' }],
  ])('reads %s', (_name, settings, expected) => {
    expect(parseAccountSettings(account(settings))).toMatchObject(expected);
  });

  it.each<[string, Record<string, string>, string]>([
    ['an unknown userIdField', { userIdField: 'email' }, 'account.account_settings.userIdField'],
    ['an unknown data center', { dataCenter: 'APAC' }, 'account.account_settings.dataCenter'],
    ['an empty key', { apiKey: '  ' }, 'account.account_settings.apiKey'],
  ])('refuses %s, naming the field', (_name, settings, path) => {
    let error: unknown;
    try {
      parseAccountSettings(account(settings));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(JSON.stringify(error)).toContain(path);
  });
});

describe('list settings (lists created for audiences without a listId)', () => {
  it('defaults to the audience name and keeping the list', () => {
    expect(parseListSettings(account({}))).toEqual({ listNameTemplate: '{audienceName}', onAudienceRemove: 'keep' });
  });

  it.each([
    ['{audienceName}', 'VIP buyers'],
    ['mP {accountId}/{audienceId}: {audienceName}', 'mP 7/42: VIP buyers'],
    ['   ', 'VIP buyers'],
  ])('fills %j in as %j', (template, name) => {
    const { listNameTemplate } = parseListSettings(account({ listNameTemplate: template }));
    expect(listNameFor(listNameTemplate, { accountId: 7, audienceId: 42, audienceName: 'VIP buyers' })).toBe(name);
  });

  it('never gives an overlong name', () => {
    // Both copies of the audience name are shortened alike: 2 × 127.
    expect(listNameFor('{audienceName}{audienceName}', { accountId: 1, audienceId: 5, audienceName: 'x'.repeat(200) })).toHaveLength(254);
  });

  it('reads onAudienceRemove in any case', () => {
    expect(parseListSettings(account({ onAudienceRemove: 'DELETE' })).onAudienceRemove).toBe('delete');
  });

  it.each([
    [{ onAudienceRemove: 'empty' }, 'account.account_settings.onAudienceRemove'],
    [{ listNameTemplate: 'x'.repeat(201) }, 'account.account_settings.listNameTemplate'],
  ])('%j: refused naming %s', (settings, path) => {
    expect(() => parseListSettings(account(settings))).toThrow(expect.objectContaining({ details: [expect.objectContaining({ path })] }));
  });
});

describe("list names (issue 22 §3: one list per audience, never someone else's)", () => {
  const audience = (audienceName: string) => ({ accountId: 7, audienceId: 42, audienceName });

  it.each([
    ['a NUL', 'VIP\u0000 buyers', 'VIP buyers'],
    ['C0 controls, DEL and C1 controls', '\u0001VIP\tbuyers\n\u007f\u0085', 'VIPbuyers'],
    ['bidi embeddings and overrides (U+202A–U+202E)', '\u202aVIP\u202b \u202cbuy\u202ders\u202e', 'VIP buyers'],
    ['bidi isolates (U+2066–U+2069)', '\u2066VIP\u2067 \u2068buyers\u2069', 'VIP buyers'],
    ['LRM and RLM (U+200E, U+200F)', 'VIP\u200e buyers\u200f', 'VIP buyers'],
  ])('strips %s from the name', (_what, audienceName, expected) => {
    expect(listNameFor('{audienceName}', audience(audienceName))).toBe(expected);
  });

  it('strips them from the template too', () => {
    expect(listNameFor('mP\u202e {audienceName}\u0000', audience('VIP'))).toBe('mP VIP');
  });

  it.each([
    ['{accountId}', '{accountId}'],
    ['{audienceId} of {accountId}', '{audienceId} of {accountId}'],
    ['{audienceName}', '{audienceName}'],
    ['{anything}', '{anything}'],
  ])('does not expand the placeholder %j inside an audience name', (audienceName, expected) => {
    expect(listNameFor('{audienceName}', audience(audienceName))).toBe(expected);
    expect(listNameFor('{accountId}: {audienceName}', audience(audienceName))).toBe(`7: ${expected}`);
  });

  it.each([[''], ['   '], ['\u0000\u202e\u200f'], ['\t\n']])('a name blank after stripping (%j) gives no name: the audience is held', (audienceName) => {
    expect(listNameFor('{audienceName}', audience(audienceName))).toBeUndefined();
    expect(listNameCandidates('{audienceName}', audience(audienceName))).toEqual([]);
  });

  it('gives the distinct names in order: the name, then "<name> (<audienceId>)", then "<name> (<accountId>-<audienceId>)"', () => {
    expect(listNameCandidates('{audienceName}', audience('VIP'))).toEqual(['VIP', 'VIP (42)', 'VIP (7-42)']);
    expect(listNameCandidates('mP {audienceName}', audience('VIP'))).toEqual(['mP VIP', 'mP VIP (42)', 'mP VIP (7-42)']);
  });

  it(`truncates to ${MAX_LIST_NAME_LENGTH} characters by shortening the audience name, keeping the suffix (names stay distinct)`, () => {
    const long = 'x'.repeat(400);
    const [base, byAudience, byAccount] = listNameCandidates('{audienceName} [mP]', audience(long));
    expect(base).toBe(`${'x'.repeat(MAX_LIST_NAME_LENGTH - 5)} [mP]`);
    expect(byAudience).toBe(`${'x'.repeat(MAX_LIST_NAME_LENGTH - 10)} [mP] (42)`);
    expect(byAccount).toBe(`${'x'.repeat(MAX_LIST_NAME_LENGTH - 12)} [mP] (7-42)`);
    for (const name of [base, byAudience, byAccount]) expect(name).toHaveLength(MAX_LIST_NAME_LENGTH);
    // Two audiences whose names agree on their first 255 characters: their suffixed names differ.
    const other = listNameCandidates('{audienceName}', { accountId: 7, audienceId: 43, audienceName: `${long}y` });
    expect(other[1]).not.toBe(listNameCandidates('{audienceName}', audience(`${long}z`))[1]);
  });

  it('never cuts a character in half when truncating', () => {
    const [name] = listNameCandidates('{audienceName}', audience('😀'.repeat(300)));
    expect([...name].every((c) => c === '😀')).toBe(true);
    expect(name.length).toBeLessThanOrEqual(MAX_LIST_NAME_LENGTH);
  });
});
