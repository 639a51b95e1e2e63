/** Sign-in with an API token (`tern token create`, or the bootstrap admin token). */
import { type FormEvent, useState } from 'react';
import { ApiError, type WhoAmI, whoAmI } from '../api';
import { useTitle } from '../router';

export function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (token: string, me: WhoAmI) => void }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const secret = token.trim();
    if (!secret) {
      setError('Paste a token: an admin, deployer or viewer token (tern token create --name you --role viewer).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await whoAmI(secret);
      onSignedIn(secret, me);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) setError('That token is unknown or revoked.');
      else if (err instanceof ApiError && err.status === 403)
        setError(
          `This token cannot read releases (${err.message}). Gateway tokens are for the data plane and feedback tokens only submit scores; use a viewer, deployer or admin token.`,
        );
      else if (err instanceof ApiError && err.status === 429) setError(err.message);
      else setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="signin-h">
        <div className="brand brand-large" aria-hidden="true">
          <Logo /> Tern
        </div>
        <h1 id="signin-h">Sign in</h1>
        {message && (
          <p className="banner banner-warn" role="alert" data-testid="signin-message">
            {message}
          </p>
        )}
        <label className="field">
          <span>API token</span>
          <input
            name="token"
            type="password"
            autoComplete="current-password"
            spellCheck={false}
            placeholder="tern_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'signin-error' : 'signin-help'}
            autoFocus
          />
        </label>
        <p id="signin-help" className="help">
          The token is kept in this browser tab only (session storage) and sent to this server as a bearer token.
        </p>
        {error && (
          <p id="signin-error" className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function Logo() {
  return (
    <svg width="28" height="28" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="6" fill="#0f3d5e" />
      <path d="M5 19c6-1 9-5 11-10 2 5 5 9 11 10-5 0-8 2-11 6-3-4-6-6-11-6z" fill="#fff" />
    </svg>
  );
}
