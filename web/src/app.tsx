/** The app shell: sign-in gate, header with navigation, role and live status, and the routes. */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, type WhoAmI, whoAmI } from './api';
import { ErrorState, Loading } from './components/states';
import { Logo, SignIn } from './pages/sign-in';
import { AuditPage } from './pages/audit';
import { NewReleasePage } from './pages/new-release';
import { ReleasePage } from './pages/release';
import { ServicePage } from './pages/service';
import { ServicesPage } from './pages/services';
import { Link, match, useLocation } from './router';
import { SessionProvider, readStoredToken, storeToken, useSession } from './session';

type Auth =
  | { readonly state: 'signed-out'; readonly message: string | null }
  | { readonly state: 'checking'; readonly token: string }
  | { readonly state: 'unreachable'; readonly token: string; readonly error: ApiError }
  | { readonly state: 'signed-in'; readonly token: string; readonly me: WhoAmI };

export function App() {
  const [auth, setAuth] = useState<Auth>(() => {
    const token = readStoredToken();
    return token ? { state: 'checking', token } : { state: 'signed-out', message: null };
  });

  const check = useCallback((token: string) => {
    setAuth({ state: 'checking', token });
    whoAmI(token).then(
      (me) => setAuth({ state: 'signed-in', token, me }),
      (err: unknown) => {
        if (err instanceof ApiError && err.unreachable) setAuth({ state: 'unreachable', token, error: err });
        else {
          storeToken(null);
          setAuth({
            state: 'signed-out',
            message: `Your session ended: ${err instanceof Error ? err.message : String(err)}. Sign in again.`,
          });
        }
      },
    );
  }, []);

  useEffect(() => {
    if (auth.state === 'checking') check(auth.token);
    // only on first load: later checks are started explicitly
  }, []);

  const signOut = useCallback((message?: string) => {
    storeToken(null);
    setAuth({ state: 'signed-out', message: message ?? null });
  }, []);

  switch (auth.state) {
    case 'signed-out':
      return (
        <SignIn
          message={auth.message}
          onSignedIn={(token, me) => {
            storeToken(token);
            setAuth({ state: 'signed-in', token, me });
          }}
        />
      );
    case 'checking':
      return (
        <main className="page" id="main">
          <Loading what="your session" />
        </main>
      );
    case 'unreachable':
      return (
        <main className="page" id="main">
          <ErrorState error={auth.error} retry={() => check(auth.token)} what="session" />
        </main>
      );
    case 'signed-in':
      return (
        <SessionProvider key={auth.token} token={auth.token} me={auth.me} onSignOut={signOut}>
          <Shell />
        </SessionProvider>
      );
    default: {
      const never: never = auth;
      return never;
    }
  }
}

function Shell() {
  const { pathname } = useLocation();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header pathname={pathname} />
      <Routes pathname={pathname} />
    </>
  );
}

function Header({ pathname }: { pathname: string }) {
  const { me, live, signOut } = useSession();
  const nav = [
    { to: '/', label: 'Services', current: pathname === '/' || pathname.startsWith('/services') || pathname.startsWith('/releases') },
    { to: '/audit', label: 'Audit log', current: pathname.startsWith('/audit') },
  ];
  return (
    <header className="topbar">
      <Link to="/" className="brand">
        <Logo /> <span>Tern</span>
      </Link>
      <nav aria-label="Main">
        <ul>
          {nav.map((n) => (
            <li key={n.to}>
              <Link to={n.to} aria-current={n.current ? 'page' : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="who">
        <span className={`live live-${live}`} role="status" title="Live updates from the control plane" data-testid="live">
          <span className="dot" aria-hidden="true" />
          {live === 'live' ? 'live' : live === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        <span className="me" data-testid="me">
          {me.name} <span className={`badge role-${me.role}`}>{me.role}</span>
        </span>
        <button type="button" className="btn btn-small" onClick={() => signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Routes({ pathname }: { pathname: string }) {
  let p;
  if (pathname === '/' || pathname === '/services') return <ServicesPage />;
  if ((p = match('/services/:name/releases/new', pathname))) return <NewReleasePage key={p.name} service={p.name!} />;
  if ((p = match('/services/:name', pathname))) return <ServicePage key={p.name} name={p.name!} />;
  if ((p = match('/releases/:id', pathname))) return <ReleasePage key={p.id} id={p.id!} />;
  if (pathname === '/audit') return <AuditPage />;
  return (
    <main id="main" className="page">
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{pathname}</code>. <Link to="/">Go to the services</Link>.
      </p>
    </main>
  );
}
