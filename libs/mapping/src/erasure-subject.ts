import { DSR_IDENTITY_TYPES, DsrProcessingRequest } from '@audience-bridge/mparticle';
import { normalizeEmail } from './identity';

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
