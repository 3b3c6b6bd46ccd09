import { FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, request, tokenStore } from '../api';
import { ErrorNotice } from '../components/common';

/**
 * The admin token, checked against the API before it is kept (session storage only: never a URL, a cookie
 * or a log line). `notice` says why the operator is here again (signed out, token refused).
 */
export function SignIn({ onSignedIn, notice }: { onSignedIn(): void; notice?: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    if (!candidate) {
      setError(new Error('Enter the admin token (ADMIN_TOKEN).'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await request('/v1/stats', { token: candidate, what: 'Signing in' });
      tokenStore.set(candidate);
      setToken('');
      onSignedIn();
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? new Error('That token was refused. Use the ADMIN_TOKEN the API was started with (the first `npm start` prints it).')
          : e,
      );
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <h1>audience-bridge operations</h1>
      <p className="muted">mParticle audiences → Iterable lists: health, backlog, deliveries and users.</p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor="admin-token">Admin token</label>
        <input
          id="admin-token"
          ref={input}
          type="password"
          autoComplete="current-password"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby="admin-token-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="admin-token-help" className="hint">
          The API&apos;s <code>ADMIN_TOKEN</code>. Kept in this tab only (session storage) until you sign out or close it.
        </p>
        <ErrorNotice error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
