import { AccountSettings, MembershipChange } from '@audience-bridge/domain';
import { AudienceMembershipChangeRequest, SETTING_IDS, isPositiveIntegerString, profileAudienceChanges } from '@audience-bridge/mparticle';
import { resolveSubscriber, userKeyOf } from './resolve-subscriber';

/** A change that cannot be sent (yet), and why: without a user identity it is dropped; without a list it is recorded and held. */
export interface UnroutableChange {
  profileIndex: number;
  audienceId: number;
  reason: 'missing listId' | 'no user identity';
}

export interface MappedMembershipChanges {
  /** One entry per (profile, audience) membership change, sendable or with its `skipReason`. */
  changes: MembershipChange[];
  unroutable: UnroutableChange[];
}

export interface MappingOptions {
  /** The list of an audience when the message itself does not name one (the stored connection's list). */
  listIdFor?: (audienceId: number) => number | undefined;
}

/**
 * Turns a validated membership change request into per-list membership changes.
 * `attribute_update` entries change no membership and produce nothing. The list id is read from each
 * audience entry (mParticle sends the current settings every time) and falls back to `listIdFor`.
 */
export function mapMembershipChanges(
  request: AudienceMembershipChangeRequest,
  settings: Pick<AccountSettings, 'userIdField'>,
  options: MappingOptions = {},
): MappedMembershipChanges {
  const changes: MembershipChange[] = [];
  const unroutable: UnroutableChange[] = [];

  (request.user_profiles ?? []).forEach((profile, profileIndex) => {
    const audienceChanges = profileAudienceChanges(profile);
    if (audienceChanges.length === 0) return;
    const userKey = userKeyOf(profile);
    const resolution = resolveSubscriber(profile, settings);

    for (const { audience, action } of audienceChanges) {
      if (userKey === undefined) {
        unroutable.push({ profileIndex, audienceId: audience.audience_id, reason: 'no user identity' });
        continue;
      }
      const setting = audience.audience_subscription_settings?.[SETTING_IDS.listId];
      const listId = isPositiveIntegerString(setting) ? Number(setting) : options.listIdFor?.(audience.audience_id);
      // Recorded all the same, and held: a later message or an operator that names the list releases it.
      if (listId === undefined) unroutable.push({ profileIndex, audienceId: audience.audience_id, reason: 'missing listId' });
      changes.push({
        accountId: request.account.account_id,
        audienceId: audience.audience_id,
        listId: listId ?? null,
        userKey,
        ...(profile.mpid ? { mpid: profile.mpid } : {}),
        action,
        ...(resolution.subscriber ? { subscriber: resolution.subscriber } : { skipReason: resolution.skipReason }),
        sourceMessageId: request.id,
        timestampMs: request.timestamp_ms,
      });
    }
  });

  return { changes, unroutable };
}
