import { useQuery } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { query, request } from '../api';
import { EmptyState, ErrorNotice, StatusBadge } from '../components/common';
import { formatTime } from '../format';
import { Link } from '../router';
import type { LookupKind, UserLookup, UserMembership } from '../types';

const KINDS: { value: LookupKind; label: string; placeholder: string }[] = [
  { value: 'email', label: 'Email', placeholder: 'ada@example.com' },
  { value: 'mpid', label: 'mParticle ID (mpid)', placeholder: '1001000001' },
  { value: 'customerId', label: 'Customer ID', placeholder: 'c-1001-1' },
];

export function Users() {
  const [kind, setKind] = useState<LookupKind>('email');
  const [value, setValue] = useState('');
  const [asked, setAsked] = useState<{ kind: LookupKind; value: string } | null>(null);
  const lookup = useQuery({
    queryKey: ['users', asked],
    queryFn: () => request<UserLookup>(`/v1/users${query(asked ? { [asked.kind]: asked.value } : {})}`, { what: 'Looking the user up' }),
    enabled: asked !== null,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) setAsked({ kind, value: value.trim() });
  };
  const label = KINDS.find((k) => k.value === kind) ?? KINDS[0];

  return (
    <main id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>User lookup</h1>
      </div>
      <p className="muted">Per audience and list: what mParticle wants, what Iterable has, and every verdict recorded for the user.</p>
      <form className="lookup" onSubmit={submit} role="search" aria-label="Find a user">
        <label>
          Find by
          <select value={kind} onChange={(e) => setKind(e.target.value as LookupKind)} name="kind">
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          {label.label}
          <input name="value" value={value} onChange={(e) => setValue(e.target.value)} placeholder={label.placeholder} spellCheck={false} autoComplete="off" />
        </label>
        <button type="submit" className="primary">
          Find
        </button>
      </form>
      <ErrorNotice error={lookup.error} />
      {lookup.isFetching && <p aria-live="polite">Looking up…</p>}
      {lookup.data && lookup.data.memberships.length === 0 && (
        <EmptyState title="No user found">
          <p>
            Nothing recorded for {KINDS.find((k) => k.value === lookup.data.by)?.label.toLowerCase()} <code>{lookup.data.value}</code>. Emails are compared in
            lower case; a customer id is found in Customer ID accounts (or for profiles sent without an mpid). A user appears once mParticle sends a change of
            an audience connected here.
          </p>
        </EmptyState>
      )}
      {lookup.data && lookup.data.memberships.length > 0 && (
        <section aria-label="Memberships found">
          <p role="status">
            {lookup.data.memberships.length} membership{lookup.data.memberships.length === 1 ? '' : 's'} found.
          </p>
          {lookup.data.memberships.map((m) => (
            <MembershipCard key={`${m.accountId}-${m.audienceId}-${m.userKey}`} m={m} />
          ))}
        </section>
      )}
    </main>
  );
}

const STATE_TEXT: Record<string, string> = {
  pending: 'waiting to be sent',
  subscribed: 'on the list',
  unsubscribed: 'off the list',
  unknown: 'sent, answer not seen (sent again)',
  failed: 'refused by Iterable',
  none: 'never sent',
  held: 'held: the audience names no list',
};

function MembershipCard({ m }: { m: UserMembership }) {
  return (
    <article className="panel membership" data-testid="membership">
      <h2>
        Account {m.accountId} · {m.audienceName ? `"${m.audienceName}"` : `audience ${m.audienceId}`} <span className="muted">#{m.audienceId}</span> →{' '}
        {m.listId === null ? 'no list' : `list ${m.listId}`}
      </h2>
      <p className="muted">
        user {m.mpid ? `mpid ${m.mpid}` : m.userKey} · <StatusBadge status={m.state}>{m.state}</StatusBadge> {STATE_TEXT[m.state] ?? ''}
      </p>
      <div className="two-up">
        <section aria-label="Desired state">
          <h3>mParticle wants</h3>
          <dl className="facts">
            <div>
              <dt>Change</dt>
              <dd>
                <strong>{m.desired.action === 'add' ? 'in the audience (add)' : 'out of the audience (delete)'}</strong>
              </dd>
            </div>
            <div>
              <dt>Email</dt>
              <dd>{m.desired.email ?? '—'}</dd>
            </div>
            <div>
              <dt>userId</dt>
              <dd>{m.desired.userId ?? '—'}</dd>
            </div>
            {m.desired.skipReason && (
              <div>
                <dt>Not sendable</dt>
                <dd>{m.desired.skipReason}</dd>
              </div>
            )}
            <div>
              <dt>As of</dt>
              <dd>
                {formatTime(new Date(m.desired.timestampMs).toISOString())} (message {m.desired.sourceMessageId})
              </dd>
            </div>
          </dl>
        </section>
        <section aria-label="What Iterable has">
          <h3>Iterable has</h3>
          {m.iterable ? (
            <dl className="facts">
              <div>
                <dt>State</dt>
                <dd>
                  <StatusBadge status={m.iterable.state}>{m.iterable.state}</StatusBadge>
                  {m.iterable.reason ? ` ${m.iterable.reason}` : ''}
                </dd>
              </div>
              <div>
                <dt>Email</dt>
                <dd>{m.iterable.email}</dd>
              </div>
              <div>
                <dt>userId</dt>
                <dd>{m.iterable.userId ?? '—'}</dd>
              </div>
              <div>
                <dt>Since</dt>
                <dd>{formatTime(m.iterable.updatedAt)}</dd>
              </div>
            </dl>
          ) : (
            <p>Nothing yet: this member was never sent to the list.</p>
          )}
        </section>
      </div>
      <h3>Verdicts ({m.history.length})</h3>
      {m.history.length === 0 ? (
        <p>No Iterable call has named this user on this audience yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="data" aria-label={`Verdicts for audience ${m.audienceId}`}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">List</th>
                <th scope="col">Change</th>
                <th scope="col">Verdict</th>
                <th scope="col">Reason</th>
                <th scope="col">Call</th>
              </tr>
            </thead>
            <tbody>
              {m.history.map((v, i) => (
                <tr key={`${v.callId}-${i}`}>
                  <td>{formatTime(v.time)}</td>
                  <td>{v.listId}</td>
                  <td>{v.action}</td>
                  <td>
                    <StatusBadge status={v.outcome}>{v.outcome}</StatusBadge>
                    {v.retryable ? ' (retried)' : ''}
                  </td>
                  <td>{v.reason ?? ''}</td>
                  <td>
                    <Link to={`/deliveries?call=${encodeURIComponent(v.callId)}`}>{v.callId.slice(0, 8)}</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}
