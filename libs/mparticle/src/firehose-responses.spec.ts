import {
  buildAudienceMembershipChangeResponse,
  buildAudienceSubscriptionResponse,
  buildDsrProcessingResponse,
  buildRegistrationResponse,
} from './firehose-responses';

describe('response builders', () => {
  const request = { id: 'req-1', firehose_version: '2.1.1' };

  it('registers Iterable audience processing with the settings and identities the integration needs', () => {
    const r = buildRegistrationResponse(request, { version: '1.0.0' }, 42);
    expect(r).toMatchObject({ type: 'module_registration_response', id: 'req-1', timestamp_ms: 42, firehose_version: '2.1.1' });
    const settings = r.audience_processing_registration.account_settings;
    expect(settings.find((s) => s.id === 'apiKey')).toMatchObject({ type: 'text', required: true, confidential: true });
    expect(settings.find((s) => s.id === 'userIdField')).toMatchObject({ default_value: 'customerId' });
    expect(settings.find((s) => s.id === 'dataCenter')).toMatchObject({ default_value: 'US' });
    expect(settings.find((s) => s.id === 'listNameTemplate')).toMatchObject({ default_value: '{audienceName}', required: false });
    expect(settings.find((s) => s.id === 'onAudienceRemove')).toMatchObject({ default_value: 'keep', required: false });
    expect(r.audience_processing_registration.audience_subscription_settings).toEqual([
      expect.objectContaining({ id: 'listId', type: 'integer', required: false }),
    ]);
    expect(r.permissions.user_identities).toEqual([
      { type: 'email', encoding: 'raw', required: false },
      { type: 'customer', encoding: 'raw', required: false },
    ]);
    expect(r.permissions.allow_access_mpid).toBe(true);
    expect(r.dsr_processing_registration).toEqual({ account_settings: settings, supported_dsr_types: ['erasure'], domain: 'audience-bridge' });
  });

  it('answers a data subject request with a bare envelope', () => {
    expect(buildDsrProcessingResponse({ id: 'd-1' }, 9)).toEqual({ type: 'dsr_processing_response', id: 'd-1', timestamp_ms: 9, firehose_version: '3.2.0' });
  });

  it('answers a subscription with the request id and no settings by default', () => {
    expect(buildAudienceSubscriptionResponse({ id: 's-1' }, undefined, 7)).toEqual({
      type: 'audience_subscription_response',
      id: 's-1',
      timestamp_ms: 7,
      firehose_version: '3.2.0',
    });
  });

  it.each([true, false])('answers a membership change with suspend_subscription %s', (suspend) => {
    expect(buildAudienceMembershipChangeResponse(request, suspend, 9)).toEqual({
      type: 'audience_membership_change_response',
      id: 'req-1',
      timestamp_ms: 9,
      firehose_version: '2.1.1',
      suspend_subscription: suspend,
    });
  });
});
