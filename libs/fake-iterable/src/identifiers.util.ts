/** Iterable's userId rules (reference section 4): non-empty, at most 52 characters, ASCII printable, no trailing space. */
export const MAX_USER_ID_LENGTH = 52;

export function isValidUserId(userId: string): boolean {
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) return false;
  if (userId.endsWith(' ')) return false;
  return /^[\x20-\x7e]+$/.test(userId);
}

/**
 * A pragmatic email check close to what Iterable rejects: one `@`, no whitespace, a non-empty local part,
 * a dotted domain without empty labels.
 */
export function isValidEmail(email: string): boolean {
  if (email.length === 0 || email.length > 254 || /\s/.test(email)) return false;
  const at = email.lastIndexOf('@');
  if (at <= 0 || email.indexOf('@') !== at) return false;
  const domain = email.slice(at + 1);
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((label) => /^[A-Za-z0-9-]+$/.test(label) && !label.startsWith('-'));
}

/** Iterable stores and echoes emails lower-cased. */
export const normalizeEmail = (email: string): string => email.toLowerCase();
