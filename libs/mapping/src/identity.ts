import { isEmail } from 'class-validator';

/** Iterable stores emails trimmed and lower-cased; we send them that way so verdicts match what we sent. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Iterable's placeholder domain for users without an email (mParticle ID mode). */
export const PLACEHOLDER_EMAIL_DOMAIN = 'placeholder.email';

export function placeholderEmail(mpid: string): string {
  return `${mpid}@${PLACEHOLDER_EMAIL_DOMAIN}`;
}

/**
 * The shape of nearly every address: ASCII letters, digits, `_`, `+` and `-`, in parts joined by single dots, at
 * most 64 before the `@` (placeholder addresses, `-52…@placeholder.email`, included); host labels of letters, digits
 * and inner hyphens (at most 63 each) and a letters-only top-level domain. Every such address of at most 254
 * characters is one `isEmail` accepts with the options below (a property test holds it so), so it answers at once;
 * any other goes to `isEmail`, which costs about 2 µs an address (50 a message).
 */
export const COMMON_EMAIL = /^(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** An address Iterable would accept: a plain `local@domain.tld`, no spaces, no IP domains, at most 254 characters. */
export function isDeliverableEmail(email: string): boolean {
  return (
    email.length <= 254 &&
    (COMMON_EMAIL.test(email) || isEmail(email, { allow_display_name: false, require_tld: true, allow_ip_domain: false, allow_utf8_local_part: false }))
  );
}

/** Iterable's userId rules: non-empty, at most 52 characters, printable ASCII, no leading or trailing space. */
export const MAX_USER_ID_LENGTH = 52;

export function isValidUserId(userId: string): boolean {
  return userId.length > 0 && userId.length <= MAX_USER_ID_LENGTH && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(userId);
}
