import { DomainError } from '@audience-bridge/domain';
import type { FirehoseAccount } from './firehose-messages';
import { listNameFor, parseAccountSettings, parseListSettings } from './message-settings';

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

  it('never gives an empty or overlong name', () => {
    expect(listNameFor('{audienceName}', { accountId: 1, audienceId: 5, audienceName: '  ' })).toBe('audience 5');
    expect(listNameFor('{audienceName}{audienceName}', { accountId: 1, audienceId: 5, audienceName: 'x'.repeat(200) })).toHaveLength(255);
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
