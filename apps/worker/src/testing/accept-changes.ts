import { randomUUID } from 'node:crypto';
import type { MembershipIngestRepository } from '@audience-bridge/persistence';

/** An account, its Iterable key and the list its audience 1 feeds, in a worker test. */
export interface Target {
  accountId: number;
  apiKey: string;
  listId: number;
}

/**
 * Records one accepted mParticle message through the real ingest: these users (an email, or an email and a
 * userId) added to or deleted from audience 1 of the target's account, which feeds the target's list.
 */
export async function acceptChanges(
  ingest: MembershipIngestRepository,
  target: Target,
  users: (string | { email: string; userId: string })[],
  action: 'add' | 'delete' = 'add',
  timestampMs = 1000,
): Promise<void> {
  const id = randomUUID();
  await ingest.record({
    accountId: target.accountId,
    messageId: id,
    timestampMs,
    settings: { apiKey: target.apiKey, userIdField: 'customerId', dataCenter: 'US' },
    connections: [{ audienceId: 1, audienceName: 'A', listId: target.listId }],
    changes: users.map((user) => {
      const subscriber = typeof user === 'string' ? { email: user } : user;
      return {
        accountId: target.accountId,
        audienceId: 1,
        listId: target.listId,
        userKey: subscriber.email,
        action,
        subscriber,
        sourceMessageId: id,
        timestampMs,
      };
    }),
  });
}
