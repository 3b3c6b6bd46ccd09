import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares a presented secret with the expected one in constant time (hashing first evens out lengths). */
export function secretsMatch(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The credential after a scheme word in an Authorization header (`Token abc` → `abc`), case-insensitive scheme. */
export function credentialOf(header: string | undefined, scheme: 'Token' | 'Bearer'): string | undefined {
  const match = header?.match(/^\s*(\S+)\s+(\S+)\s*$/);
  return match && match[1].toLowerCase() === scheme.toLowerCase() ? match[2] : undefined;
}
