import { DSR_IDENTITY_TYPES, DsrProcessingRequest, FirehoseUserProfile } from '@audience-bridge/mparticle';
import { normalizeEmail } from './identity';
import { rawIdentity } from './resolve-subscriber';

/** Who a data subject request names, in the forms memberships store. Hashed identities name nobody here. */
export interface ErasureSubject {
  /** Normalized (trimmed, lower-cased), as memberships and Iterable store it. */
  email?: string;
  /** The `customer` identity of membership messages (`controller_customer_id` in a data subject request). */
  customerId?: string;
}

export function erasureSubject(request: Pick<DsrProcessingRequest, 'subject_identities'>): ErasureSubject {
  const raw = (type: string): string | undefined => {
    const identity = request.subject_identities[type];
    const value = identity?.encoding === 'raw' ? identity.value.trim() : '';
    return value === '' ? undefined : value;
  };
  const email = raw(DSR_IDENTITY_TYPES.email);
  const customerId = raw(DSR_IDENTITY_TYPES.customerId);
  return { ...(email ? { email: normalizeEmail(email) } : {}), ...(customerId ? { customerId } : {}) };
}

/** How an identifier is named for an erasure's tombstone (README "Erasure"): `email:…` (normalized), `customer:…`, `mpid:…`. */
export const erasedIdentity = {
  email: (email: string): string => `email:${normalizeEmail(email)}`,
  customer: (customerId: string): string => `customer:${customerId}`,
  mpid: (mpid: string): string => `mpid:${mpid}`,
};

/** Every identifier of a membership message's profile a tombstone may name: its raw email, raw customer id and mpid. */
export function profileIdentities(profile: FirehoseUserProfile): string[] {
  const email = rawIdentity(profile, 'email');
  const customerId = rawIdentity(profile, 'customer');
  return [
    ...(email === undefined ? [] : [erasedIdentity.email(email)]),
    ...(customerId === undefined ? [] : [erasedIdentity.customer(customerId)]),
    ...(profile.mpid ? [erasedIdentity.mpid(String(profile.mpid))] : []),
  ];
}
