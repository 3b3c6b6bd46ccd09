import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, tokenStore } from './api';
import { Connections } from './pages/Connections';
import { Deliveries } from './pages/Deliveries';
import { Overview } from './pages/Overview';
import { SignIn } from './pages/SignIn';
import { Users } from './pages/Users';
import { Link, RouterProvider, useRoute } from './router';

const PAGES = [
  { path: '/', label: 'Overview', element: <Overview /> },
  { path: '/connections', label: 'Connections', element: <Connections /> },
  { path: '/deliveries', label: 'Deliveries', element: <Deliveries /> },
  { path: '/users', label: 'User lookup', element: <Users /> },
];

export function App() {
  return (
    <RouterProvider>
      <Console />
    </RouterProvider>
  );
}

function Console() {
  const [signedIn, setSignedIn] = useState(() => tokenStore.get() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const signOutRef = useRef<(why: string) => void>(() => undefined);
  // A 401 on any call means the token is no longer good (the API restarted with another ADMIN_TOKEN).
  const [client] = useState(() => {
    const on401 = (error: unknown) => {
      if (error instanceof ApiError && error.status === 401) signOutRef.current('The API refused the admin token. Sign in again.');
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError: on401 }),
      mutationCache: new MutationCache({ onError: on401 }),
      defaultOptions: {
        queries: {
          retry: (count, error) => !(error instanceof ApiError && error.status !== null && error.status < 500) && count < 2,
          refetchOnWindowFocus: true,
        },
      },
    });
  });
  const signOut = useCallback(
    (why: string) => {
      tokenStore.clear();
      client.clear();
      setNotice(why);
      setSignedIn(false);
    },
    [client],
  );
  signOutRef.current = signOut;

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(null);
          setSignedIn(true);
        }}
      />
    );
  }
  return (
    <QueryClientProvider client={client}>
      <Shell onSignOut={() => signOut('Signed out: the admin token is forgotten in this tab.')} />
    </QueryClientProvider>
  );
}

function Shell({ onSignOut }: { onSignOut(): void }) {
  const { path } = useRoute();
  const page = PAGES.find((p) => p.path === path);
  // After a navigation, focus goes to the page (screen readers announce it, Tab starts from there).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [path]);
  useEffect(() => {
    document.title = `${page?.label ?? 'Not found'} · audience-bridge`;
  }, [page]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">audience-bridge</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <Link to={p.path} aria-current={p.path === path ? 'page' : undefined}>
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {page ? (
        page.element
      ) : (
        <main id="main" tabIndex={-1}>
          <h1>Page not found</h1>
          <p>
            There is no console page at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
          </p>
        </main>
      )}
    </>
  );
}
