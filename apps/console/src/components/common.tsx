import { ReactNode, useEffect, useState } from 'react';
import { ApiError } from '../api';
import { formatTime } from '../format';

export function StatusBadge({ status, children }: { status: string; children?: ReactNode }) {
  return <span className={`badge badge-${status.replace(/[^a-z-]/g, '')}`}>{children ?? status}</span>;
}

/** An error that says what happened (role=alert: read out when it appears). */
export function ErrorNotice({ error, action }: { error: unknown; action?: ReactNode }) {
  if (!error) return null;
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  return (
    <div className="notice notice-error" role="alert">
      <p>{message}</p>
      {action}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="empty" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** "Updated 12:00:05 · refreshes every 5 s", so an operator knows the figures are live. */
export function LiveStamp({ updatedAt, everyMs, fetching }: { updatedAt: number; everyMs: number; fetching: boolean }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, []);
  if (!updatedAt) return null;
  return (
    <p className="live" aria-live="off">
      <span className={fetching ? 'dot dot-busy' : 'dot'} aria-hidden="true" /> Updated {formatTime(new Date(updatedAt).toISOString()).slice(11)} · refreshes
      every {everyMs / 1000} s
    </p>
  );
}

/** How to point mParticle at this service: the empty state of every page with nothing to show yet. */
export function ConnectHelp() {
  const origin = window.location.origin;
  return (
    <div className="connect-help">
      <p>Nothing has come from mParticle yet. To connect an audience:</p>
      <ol>
        <li>
          In mParticle, add the audience-bridge integration (a Firehose partner) with the endpoint <code>{origin}/v1/mparticle</code> and the header{' '}
          <code>Authorization: Token &lt;MPARTICLE_INBOUND_TOKEN&gt;</code>.
        </li>
        <li>
          In its settings give the Iterable <strong>API key</strong>, the <strong>userIdField</strong> (Customer ID or mParticle ID) and, per audience, the
          Iterable <strong>listId</strong>.
        </li>
        <li>Connect an audience to it. Its connection shows here as soon as mParticle sends the subscription or the first membership change.</li>
      </ol>
      <p>
        No mParticle at hand? <code>npm run demo</code> runs this service with a fake Iterable and realistic traffic.
      </p>
    </div>
  );
}
