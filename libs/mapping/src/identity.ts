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

/** An address Iterable would accept: a plain `local@domain.tld`, no spaces, no IP domains, at most 254 characters. */
export function isDeliverableEmail(email: string): boolean {
  return email.length <= 254 && isEmail(email, { allow_display_name: false, require_tld: true, allow_ip_domain: false, allow_utf8_local_part: false });
}

/** Iterable's userId rules: non-empty, at most 52 characters, printable ASCII, no leading or trailing space. */
export const MAX_USER_ID_LENGTH = 52;

export function isValidUserId(userId: string): boolean {
  return userId.length > 0 && userId.length <= MAX_USER_ID_LENGTH && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(userId);
}
