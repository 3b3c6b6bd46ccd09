import type { MembershipAction } from '@audience-bridge/domain';
import type { FirehoseLegacyAudience, FirehoseUserProfile } from './firehose-messages';

/** One audience entry of a profile with its membership action, whichever wire form carried it. */
export interface ProfileAudienceChange {
  audience: FirehoseLegacyAudience;
  action: MembershipAction;
}

/**
 * The membership changes of one profile: the `audiences[]` form (attribute updates dropped: they change no
 * membership) and the legacy `added_audiences[]` / `removed_audiences[]` form, in that order.
 */
export function profileAudienceChanges(profile: FirehoseUserProfile): ProfileAudienceChange[] {
  const current = (profile.audiences ?? []).filter((a) => a.action !== 'attribute_update').map((a) => ({ audience: a, action: a.action as MembershipAction }));
  const added = (profile.added_audiences ?? []).map((audience) => ({ audience, action: 'add' as const }));
  const removed = (profile.removed_audiences ?? []).map((audience) => ({ audience, action: 'delete' as const }));
  return [...current, ...added, ...removed];
}
