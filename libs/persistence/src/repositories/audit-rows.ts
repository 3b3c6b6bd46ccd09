/** The columns of a `delivery_verdicts` row, in the order every writer of verdicts passes them to `insertRows`. */
export const VERDICT_COLUMNS = [
  { name: 'call_id', type: 'text' },
  { name: 'account_id', type: 'bigint' },
  { name: 'audience_id', type: 'bigint' },
  { name: 'list_id', type: 'bigint' },
  { name: 'user_key', type: 'text' },
  { name: 'mpid', type: 'text' },
  { name: 'action', type: 'text' },
  { name: 'email', type: 'text' },
  { name: 'user_id', type: 'text' },
  { name: 'outcome', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'retryable', type: 'boolean' },
  { name: 'created_at_ms', type: 'bigint' },
] as const;

/** `?, ?, ?` for an `IN (…)` of these values. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');
