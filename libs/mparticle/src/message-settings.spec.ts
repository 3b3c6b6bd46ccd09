import { DomainError } from '@audience-bridge/domain';
import type { FirehoseAccount } from './firehose-messages';
import { parseAccountSettings } from './message-settings';

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
