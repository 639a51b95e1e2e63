/** Loading, empty and error states, shared by every page. */
import type { ReactNode } from 'react';
import type { ApiError } from '../api';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

/** An error: the control plane being down reads differently from a refusal or a missing thing. */
export function ErrorState({ error, retry, what }: { error: ApiError; retry?: () => void; what: string }) {
  const title = error.unreachable
    ? 'The control plane is not reachable'
    : error.status === 404
      ? `No such ${what}`
      : error.status === 403
        ? 'Not allowed'
        : `Could not load ${what}`;
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>
        {error.message}
        {error.code && !error.unreachable && error.status !== 0 ? <code className="code"> {error.code}</code> : null}
      </p>
      {retry && (
        <button type="button" className="btn" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Keeps the last good data on screen and shows a slim banner when a refresh fails. */
export function StaleBanner({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p className="banner banner-warn" role="status">
      {error.unreachable ? 'Control plane unreachable — showing the last data received; retrying.' : `Refresh failed: ${error.message}`}
    </p>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status.replace(/_/g, ' ')}</span>;
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span className={`badge outcome-${outcome}`}>{outcome}</span>;
}
