/**
 * Whether `text` holds the identifier `trace` (an email or a customer id, lower case) as a whole, not as the start
 * or the end of a longer one: customer id `cust-7001-1` is not in `cust-7001-14`, `u1@x.io` is not in `au1@x.io`
 * or `u1@x.io.au`. Quotes, escapes, spaces and a full stop ending a sentence bound it.
 */
export function holdsIdentifier(text: string, trace: string): boolean {
  const escaped = trace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![a-z0-9._%+-])${escaped}(?![a-z0-9_-]|\\.[a-z0-9])`).test(text);
}
