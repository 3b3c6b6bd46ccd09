import { AudienceMembershipChangeRequest, parseFirehoseRequest } from '@audience-bridge/mparticle';
import { mapMembershipChanges } from './map-membership-changes';

function request(profiles: unknown[], id = 'msg-1', timestamp_ms = 1000): AudienceMembershipChangeRequest {
  return parseFirehoseRequest({
    type: 'audience_membership_change_request',
    id,
    timestamp_ms,
    account: { account_id: 77, account_settings: { apiKey: 'k' } },
    user_profiles: profiles,
  }) as AudienceMembershipChangeRequest;
}

const jane = {
  mpid: '12345',
  user_identities: [
    { type: 'email', encoding: 'raw', value: 'jane@example.com' },
    { type: 'customer', encoding: 'raw', value: '1003' },
  ],
};

describe('mapMembershipChanges', () => {
  it('makes one change per profile and audience, add and delete, with the message id and time', () => {
    const { changes, unroutable } = mapMembershipChanges(
      request([
        {
          ...jane,
          audiences: [
            { audience_id: 456, audience_name: 'A', audience_subscription_settings: { listId: '111' }, action: 'add' },
            { audience_id: 654, audience_name: 'B', audience_subscription_settings: { listId: '222' }, action: 'delete' },
          ],
        },
      ]),
      { userIdField: 'customerId' },
    );
    expect(unroutable).toEqual([]);
    expect(changes).toEqual([
      {
        accountId: 77,
        audienceId: 456,
        listId: 111,
        userKey: '12345',
        mpid: '12345',
        action: 'add',
        subscriber: { email: 'jane@example.com', userId: '1003' },
        sourceMessageId: 'msg-1',
        timestampMs: 1000,
      },
      {
        accountId: 77,
        audienceId: 654,
        listId: 222,
        userKey: '12345',
        mpid: '12345',
        action: 'delete',
        subscriber: { email: 'jane@example.com', userId: '1003' },
        sourceMessageId: 'msg-1',
        timestampMs: 1000,
      },
    ]);
  });

  it('changes no membership for attribute_update', () => {
    const { changes, unroutable } = mapMembershipChanges(
      request([{ ...jane, audiences: [{ audience_id: 1, audience_name: 'A', audience_subscription_settings: { listId: '1' }, action: 'attribute_update' }] }]),
      { userIdField: 'customerId' },
    );
    expect(changes).toEqual([]);
    expect(unroutable).toEqual([]);
  });

  it('records an unsendable user as a change with its skip reason (so a later delete can still be reconciled)', () => {
    const { changes } = mapMembershipChanges(
      request([
        { mpid: '9', user_identities: [], audiences: [{ audience_id: 1, audience_name: 'A', audience_subscription_settings: { listId: '5' }, action: 'add' }] },
      ]),
      { userIdField: 'customerId' },
    );
    expect(changes).toEqual([expect.objectContaining({ userKey: '9', listId: 5, action: 'add', skipReason: 'missing email' })]);
    expect(changes[0]).not.toHaveProperty('subscriber');
  });

  it('falls back to the stored connection list id, and records changes with no list at all (held) while reporting them', () => {
    const { changes, unroutable } = mapMembershipChanges(
      request([
        {
          ...jane,
          audiences: [
            { audience_id: 1, audience_name: 'A', action: 'add' },
            { audience_id: 2, audience_name: 'B', action: 'add' },
          ],
        },
      ]),
      { userIdField: 'mpid' },
      { listIdFor: (audienceId) => (audienceId === 1 ? 10 : undefined) },
    );
    expect(changes.map((c) => [c.audienceId, c.listId])).toEqual([
      [1, 10],
      [2, null],
    ]);
    expect(unroutable).toEqual([{ profileIndex: 0, audienceId: 2, reason: 'missing listId' }]);
  });

  it('reports a profile without any identity as unroutable', () => {
    const { changes, unroutable } = mapMembershipChanges(
      request([{ audiences: [{ audience_id: 3, audience_name: 'C', audience_subscription_settings: { listId: '3' }, action: 'delete' }] }]),
      { userIdField: 'customerId' },
    );
    expect(changes).toEqual([]);
    expect(unroutable).toEqual([{ profileIndex: 0, audienceId: 3, reason: 'no user identity' }]);
  });

  it('maps the legacy added_audiences / removed_audiences form', () => {
    const { changes } = mapMembershipChanges(
      request([
        {
          ...jane,
          added_audiences: [{ audience_id: 1, audience_subscription_settings: { listId: '1' } }],
          removed_audiences: [{ audience_id: 2, audience_subscription_settings: { listId: '2' } }],
        },
      ]),
      { userIdField: 'mpid' },
    );
    expect(changes.map((c) => [c.listId, c.action, c.subscriber?.userId])).toEqual([
      [1, 'add', '12345'],
      [2, 'delete', '12345'],
    ]);
  });

  it('maps a keep-alive to nothing', () => {
    expect(mapMembershipChanges(request([]), { userIdField: 'customerId' })).toEqual({ changes: [], unroutable: [] });
  });
});
