import { DomainError, DomainErrorCode } from '@audience-bridge/domain';
import { AudienceMembershipChangeRequest, AudienceSubscriptionRequest, DsrProcessingRequest } from './firehose-messages';
import { parseFirehoseRequest } from './parse-firehose-request';
import { profileAudienceChanges } from './profile-audiences';

const account = { account_id: 123456, account_settings: { apiKey: 'k-123', userIdField: 'customerId' } };

/** The SDK sample, adapted to the Iterable registration (docs/mparticle-firehose.md §1.6). */
function membershipRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'audience_membership_change_request',
    id: '1317071d-4c5e-4a43-a1c0-2a0f3b8f0e11',
    timestamp_ms: 1714592744065,
    firehose_version: '3.2.0',
    account,
    user_profiles: [
      {
        mpid: '-5227515829034156637',
        user_identities: [
          { type: 'email', encoding: 'raw', value: 'jane@example.com' },
          { type: 'customer', encoding: 'raw', value: '1003' },
        ],
        audiences: [
          { audience_id: 456, audience_name: 'A', audience_subscription_settings: { listId: '111' }, action: 'add' },
          { audience_id: 654, audience_name: 'B', audience_subscription_settings: { listId: '222' }, action: 'delete', user_attributes: [{}] },
        ],
      },
    ],
    ...overrides,
  };
}

function issuesOf(body: unknown): { code: string; paths: string[] } {
  try {
    parseFirehoseRequest(body);
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { code: e.code, paths: (e.details ?? []).map((d) => d.path) };
  }
  throw new Error('expected the message to be rejected');
}

/** A data subject request in the SDK's shape (docs/mparticle-firehose.md §1.7). */
function dsrRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'dsr_processing_request',
    id: 'dsr-1',
    timestamp_ms: 1714592744065,
    firehose_version: '3.2.0',
    account,
    subject_request_id: 'a7a5f4e2-0f41-4a38-9a1c-6c9b2a1d7e55',
    subject_request_type: 'erasure',
    regulation: 'gdpr',
    submitted_time: '2024-05-01T19:45:44Z',
    api_version: '3.0',
    subject_identities: { email: { encoding: 'raw', value: 'Jane@Example.com' }, controller_customer_id: { encoding: 'raw', value: '1003' } },
    ...overrides,
  };
}

describe('parseFirehoseRequest: data subject requests', () => {
  it('accepts an erasure request', () => {
    const msg = parseFirehoseRequest(dsrRequest());
    expect(msg.type).toBe('dsr_processing_request');
    expect((msg as DsrProcessingRequest).subject_identities['email']).toEqual({ encoding: 'raw', value: 'Jane@Example.com' });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown request type', { subject_request_type: 'access' }, 'subject_request_type'],
    ['identities as an array', { subject_identities: [{ type: 'email', encoding: 'raw', value: 'x@y.io' }] }, 'subject_identities'],
    ['an identity without a value', { subject_identities: { email: { encoding: 'raw' } } }, 'subject_identities'],
    ['an unknown encoding', { subject_identities: { email: { encoding: 'base64', value: 'x' } } }, 'subject_identities'],
    ['no request id', { subject_request_id: undefined }, 'subject_request_id'],
    ['no account', { account: undefined }, 'account'],
    ['an unknown regulation', { regulation: 'hipaa' }, 'regulation'],
  ])('refuses %s, naming the field', (_name, overrides, path) => {
    expect(issuesOf(dsrRequest(overrides))).toEqual({ code: DomainErrorCode.InvalidMessage, paths: expect.arrayContaining([path]) });
  });
});

describe('parseFirehoseRequest', () => {
  it('accepts a registration request without an account', () => {
    const msg = parseFirehoseRequest({ type: 'module_registration_request', id: 'r-1', timestamp_ms: 1, firehose_version: '3.2.0' });
    expect(msg.type).toBe('module_registration_request');
  });

  it.each(['add', 'update', 'remove'])('accepts an audience subscription request with action %s', (action) => {
    const msg = parseFirehoseRequest({
      type: 'audience_subscription_request',
      id: 's-1',
      timestamp_ms: 1,
      account,
      audience_id: 1234,
      audience_name: 'New Users',
      audience_subscription_settings: { listId: '42' },
      action,
    });
    expect(msg.type).toBe('audience_subscription_request');
    expect((msg as AudienceSubscriptionRequest).action).toBe(action);
  });

  it('accepts the SDK sample membership change and keeps its structure', () => {
    const msg = parseFirehoseRequest(membershipRequest()) as AudienceMembershipChangeRequest;
    expect(msg.type).toBe('audience_membership_change_request');
    expect(msg.user_profiles?.[0].mpid).toBe('-5227515829034156637');
    expect(msg.user_profiles?.[0].audiences?.map((a) => a.action)).toEqual(['add', 'delete']);
  });

  it('accepts a keep-alive without user_profiles and an old message without firehose_version', () => {
    const { user_profiles: _dropped, firehose_version: _v, ...keepAlive } = membershipRequest();
    const msg = parseFirehoseRequest(keepAlive) as AudienceMembershipChangeRequest;
    expect(msg.user_profiles).toBeUndefined();
  });

  it('drops unknown fields at every level instead of rejecting them', () => {
    const body = membershipRequest({ surprise: true });
    (body.user_profiles as Record<string, unknown>[])[0].new_field = 'x';
    const msg = parseFirehoseRequest(body) as AudienceMembershipChangeRequest;
    expect(msg).not.toHaveProperty('surprise');
    expect(msg.user_profiles?.[0]).not.toHaveProperty('new_field');
  });

  it('accepts null setting values and hashed identities (they are validated, not used)', () => {
    const body = membershipRequest({ account: { account_id: 1, account_settings: { apiKey: 'k', apnsProdIntegrationName: null } } });
    (body.user_profiles as { user_identities: unknown[] }[])[0].user_identities.push({ type: 'email', encoding: 'sha256', value: 'ab12' });
    expect(() => parseFirehoseRequest(body)).not.toThrow();
  });

  it('normalizes the legacy added_audiences / removed_audiences form and drops attribute updates', () => {
    const msg = parseFirehoseRequest(
      membershipRequest({
        user_profiles: [
          {
            mpid: '1',
            audiences: [{ audience_id: 9, audience_name: 'x', action: 'attribute_update' }],
            added_audiences: [{ audience_id: 1, audience_name: 'one', audience_subscription_settings: { listId: '10' } }],
            removed_audiences: [{ audience_id: 2, audience_name: 'two' }],
          },
        ],
      }),
    ) as AudienceMembershipChangeRequest;
    const [profile] = msg.user_profiles ?? [];
    const changes = profileAudienceChanges(profile);
    expect(changes.map((c) => [c.audience.audience_id, c.action])).toEqual([
      [1, 'add'],
      [2, 'delete'],
    ]);
  });

  const sample = () => membershipRequest();
  const withProfile = (patch: Record<string, unknown>) => {
    const body = sample();
    (body.user_profiles as Record<string, unknown>[])[0] = { ...(body.user_profiles as Record<string, unknown>[])[0], ...patch };
    return body;
  };
  const withAudience = (patch: Record<string, unknown>) => {
    const body = sample();
    const audiences = (body.user_profiles as { audiences: Record<string, unknown>[] }[])[0].audiences;
    audiences[1] = { ...audiences[1], ...patch };
    return body;
  };

  it.each<[string, unknown, string, string]>([
    ['a body that is not an object', [1, 2], DomainErrorCode.InvalidMessage, '(body)'],
    ['an unknown type', { ...sample(), type: 'hello' }, DomainErrorCode.InvalidMessage, 'type'],
    ['an event processing request', { ...sample(), type: 'event_processing_request' }, DomainErrorCode.UnsupportedMessageType, 'type'],
    ['a missing id', { ...sample(), id: undefined }, DomainErrorCode.InvalidMessage, 'id'],
    ['a string timestamp', { ...sample(), timestamp_ms: '1714592744065' }, DomainErrorCode.InvalidMessage, 'timestamp_ms'],
    ['a missing account', { ...sample(), account: undefined }, DomainErrorCode.InvalidMessage, 'account'],
    ['a non-integer account id', { ...sample(), account: { account_id: 'abc' } }, DomainErrorCode.InvalidMessage, 'account.account_id'],
    [
      'a numeric setting value',
      { ...sample(), account: { account_id: 1, account_settings: { apiKey: 5 } } },
      DomainErrorCode.InvalidMessage,
      'account.account_settings',
    ],
    ['user_profiles not an array', { ...sample(), user_profiles: {} }, DomainErrorCode.InvalidMessage, 'user_profiles'],
    ['a null profile', { ...sample(), user_profiles: [null] }, DomainErrorCode.InvalidMessage, 'user_profiles[0]'],
    ['a numeric mpid', withProfile({ mpid: 12345 }), DomainErrorCode.InvalidMessage, 'user_profiles[0].mpid'],
    ['an mpid beyond 64 bits', withProfile({ mpid: '9223372036854775808' }), DomainErrorCode.InvalidMessage, 'user_profiles[0].mpid'],
    [
      'an unknown identity encoding',
      withProfile({ user_identities: [{ type: 'email', encoding: 'rot13', value: 'a@b.co' }] }),
      DomainErrorCode.InvalidMessage,
      'user_profiles[0].user_identities[0].encoding',
    ],
    [
      'an identity value that is not a string',
      withProfile({ user_identities: [{ type: 'email', encoding: 'raw', value: 7 }] }),
      DomainErrorCode.InvalidMessage,
      'user_profiles[0].user_identities[0].value',
    ],
    [
      'the subscription action remove on a membership',
      withAudience({ action: 'remove' }),
      DomainErrorCode.InvalidMessage,
      'user_profiles[0].audiences[1].action',
    ],
    ['a missing membership action', withAudience({ action: undefined }), DomainErrorCode.InvalidMessage, 'user_profiles[0].audiences[1].action'],
    ['a string audience id', withAudience({ audience_id: '654' }), DomainErrorCode.InvalidMessage, 'user_profiles[0].audiences[1].audience_id'],
    [
      'a subscription action delete',
      { type: 'audience_subscription_request', id: 's', timestamp_ms: 1, account, audience_id: 1, audience_name: 'a', action: 'delete' },
      DomainErrorCode.InvalidMessage,
      'action',
    ],
  ])('rejects %s and names the field', (_name, body, code, path) => {
    const { code: actualCode, paths } = issuesOf(body);
    expect(actualCode).toBe(code);
    expect(paths).toContain(path);
  });

  // Issue 21 §5: one audience's malformed listId held that audience only; the message is not refused whole.
  it.each([['abc'], ['0'], ['-3'], ['nope']])('accepts a membership audience whose listId is %p (held, not refused)', (listId) => {
    expect(() => parseFirehoseRequest(withAudience({ audience_subscription_settings: { listId } }))).not.toThrow();
  });

  it('puts the field path in the error message', () => {
    expect(() => parseFirehoseRequest(withAudience({ action: 'remove' }))).toThrow(/user_profiles\[0\]\.audiences\[1\]\.action must be one of/);
  });
});
