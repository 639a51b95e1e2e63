/**
 * The signed-in session: the token (kept in sessionStorage, so it ends with the tab), who it
 * belongs to (`GET /api/v1/whoami`), an API client bound to it, and the live event stream.
 * A 401 from anywhere ends the session and shows the sign-in form with the reason.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { type Access, type Api, type WhoAmI, createApi } from './api';
import { type ChangeEvent, type LiveStatus, connectLive } from './live';

const STORAGE_KEY = 'tern.token';

export interface Session {
  readonly me: WhoAmI;
  readonly api: Api;
  readonly live: LiveStatus;
  readonly can: (access: Access) => boolean;
  /** Calls `fn` for every live change; returns the unsubscribe function. */
  readonly subscribe: (fn: (event: ChangeEvent) => void) => () => void;
  readonly signOut: (message?: string) => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** Calls `fn` on each live change while mounted (the latest `fn`, without resubscribing). */
export function useLiveEvents(fn: (event: ChangeEvent) => void): void {
  const { subscribe } = useSession();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}

export function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

export function SessionProvider(props: { token: string; me: WhoAmI; onSignOut: (message?: string) => void; children: ReactNode }) {
  const { token, me, onSignOut } = props;
  const [live, setLive] = useState<LiveStatus>('connecting');
  const listeners = useRef(new Set<(event: ChangeEvent) => void>());
  const ended = useRef(false);

  const signOut = useCallback(
    (message?: string) => {
      if (ended.current) return;
      ended.current = true;
      onSignOut(message);
    },
    [onSignOut],
  );
  const expire = useCallback((message: string) => signOut(`Your session ended: ${message}. Sign in again with a valid token.`), [signOut]);

  const api = useMemo(() => createApi(token, expire), [token, expire]);

  useEffect(
    () =>
      connectLive({
        token,
        onStatus: setLive,
        onUnauthorized: expire,
        onEvent: (event) => listeners.current.forEach((fn) => fn(event)),
      }),
    [token, expire],
  );

  const subscribe = useCallback((fn: (event: ChangeEvent) => void) => {
    listeners.current.add(fn);
    return () => {
      listeners.current.delete(fn);
    };
  }, []);

  const session = useMemo<Session>(
    () => ({ me, api, live, can: (access) => me.access.includes(access), subscribe, signOut }),
    [me, api, live, subscribe, signOut],
  );
  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}
