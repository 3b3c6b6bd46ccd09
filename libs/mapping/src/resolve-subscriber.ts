import { createHash } from 'node:crypto';
import { AccountSettings, SKIP_REASONS, SkipReason, Subscriber } from '@audience-bridge/domain';
import type { FirehoseUserProfile } from '@audience-bridge/mparticle';
import { isDeliverableEmail, isValidUserId, normalizeEmail, placeholderEmail } from './identity';

export type SubscriberResolution = { subscriber: Subscriber; skipReason?: undefined } | { subscriber?: undefined; skipReason: SkipReason };

/** The first identity of a type whose value mParticle sent in plain text. A hashed identity is never used. */
export function rawIdentity(profile: FirehoseUserProfile, type: 'email' | 'customer'): string | undefined {
  const value = profile.user_identities?.find((i) => i.type === type && i.encoding === 'raw')?.value.trim();
  return value ? value : undefined;
}

/**
 * Who Iterable should see for this profile, the way mParticle's own Iterable output decides it:
 * - Customer ID mode: `{email, userId: <customer id>}`; no email → skipped ("missing email"); no customer id → email only.
 * - mParticle ID mode: `{email, userId: <mpid>}`; no email → `<mpid>@placeholder.email`; no mpid → skipped.
 * Emails are trimmed and lower-cased; an email or userId Iterable would refuse is flagged here, before it is sent.
 */
export function resolveSubscriber(profile: FirehoseUserProfile, settings: Pick<AccountSettings, 'userIdField'>): SubscriberResolution {
  const rawEmail = rawIdentity(profile, 'email');
  const email = rawEmail === undefined ? undefined : normalizeEmail(rawEmail);

  if (settings.userIdField === 'mpid') {
    if (!profile.mpid) return { skipReason: SKIP_REASONS.missingMpid };
    return check({ email: email ?? placeholderEmail(profile.mpid), userId: profile.mpid });
  }

  if (email === undefined) return { skipReason: SKIP_REASONS.missingEmail };
  const customerId = rawIdentity(profile, 'customer');
  return check(customerId === undefined ? { email } : { email, userId: customerId });
}

function check(subscriber: Subscriber): SubscriberResolution {
  if (!isDeliverableEmail(subscriber.email)) return { skipReason: SKIP_REASONS.invalidEmail };
  if (subscriber.userId !== undefined && !isValidUserId(subscriber.userId)) return { skipReason: SKIP_REASONS.invalidUserId };
  return { subscriber };
}

/**
 * The key that identifies a user within an account across messages: the mpid when mParticle shares it,
 * otherwise the raw customer id, otherwise the normalized email (hashed when too long to store). Undefined
 * when the profile carries none.
 */
export function userKeyOf(profile: FirehoseUserProfile): string | undefined {
  if (profile.mpid) return profile.mpid;
  const customerId = rawIdentity(profile, 'customer');
  if (customerId) return boundedKey('customer', customerId);
  const email = rawIdentity(profile, 'email');
  return email ? boundedKey('email', normalizeEmail(email)) : undefined;
}

/** User keys are stored in 200 characters: a longer identity is keyed by its SHA-256 (the same every time). */
export const MAX_USER_KEY_LENGTH = 200;

function boundedKey(kind: 'customer' | 'email', value: string): string {
  const key = `${kind}:${value}`;
  return key.length <= MAX_USER_KEY_LENGTH ? key : `${kind}#sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}
