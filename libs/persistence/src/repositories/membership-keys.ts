/**
 * How a user's memberships are found by their key (an mpid, or `customer:…` / `email:…` for a profile without one)
 * across accounts and audiences, with no index on the key alone.
 *
 * The primary key is (account, audience, user key), and every membership's audience has its connection: ingest
 * creates the connection before it writes a change of the audience (held or routed), and nothing deletes one. So
 * the candidates are one primary-key probe per connection: a few hundred probes for a lookup from the console or an
 * operator, where an index on the key cost every membership an entry (48 bytes at 10 million memberships) and every
 * new membership one more B-tree insert on the acknowledgement path. The model checker holds the premise (no
 * membership without its connection) after every history.
 *
 * `candidatesByKeys(n)` answers (account_id, audience_id, user_key) rows, `k`, to join memberships `m` on (`KEYED`):
 * one per connection and key; its parameters are the `n` keys, then the account with `inAccount`. Written
 * `FROM (…) k CROSS JOIN memberships m WHERE <KEYED>`: SQLite, without statistics, otherwise takes memberships for the
 * outer loop and reads all of it; `CROSS JOIN` keeps the candidates outside. The keys are cast to an unbounded
 * VARCHAR (a bounded one would cut a longer value on PostgreSQL; the caller's conditions compare the whole value).
 */
export function candidatesByKeys(count: number, options: { inAccount?: boolean } = {}): string {
  const keys = Array.from({ length: count }, () => 'SELECT CAST(? AS VARCHAR) AS user_key').join(' UNION ALL ');
  return (
    `SELECT c.account_id, c.audience_id, x.user_key FROM (${keys}) x CROSS JOIN audience_connections c` + (options.inAccount ? ' WHERE c.account_id = ?' : '')
  );
}

/** Joins a candidate `k` to its membership `m` by the primary key. */
export const KEYED = `m.account_id = k.account_id AND m.audience_id = k.audience_id AND m.user_key = k.user_key`;

/** Memberships whose audience has no connection: none, if the premise above holds (the model checker asks). */
export const MEMBERSHIPS_WITHOUT_CONNECTION = `SELECT COUNT(*) AS n FROM memberships m
  WHERE NOT EXISTS (SELECT 1 FROM audience_connections c WHERE c.account_id = m.account_id AND c.audience_id = m.audience_id)`;
