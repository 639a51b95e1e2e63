/**
 * Opens the Store a URL names: `sqlite:PATH` or a plain file path → SqliteStore (the embedded
 * default), `postgres://…` / `postgresql://…` → PostgresStore (several controllers sharing one
 * database). Anything else is refused, never guessed.
 */
import type { Logger } from 'pino';
import { ValidationError } from '../core/errors.js';
import type { Clock } from '../core/types.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Where a store lives, as parsed from its URL. */
export type StoreLocation =
  { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly connectionString: string };

export interface OpenStoreOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** PostgreSQL only: pooled connections (default 10). */
  readonly poolSize?: number;
}

const ACCEPTED = 'sqlite:PATH, a file path, or postgres://user:password@host:port/database';

/** A URL scheme: two or more characters, so a Windows drive letter (`C:\…`) reads as a path. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/**
 * Parses a store URL. `sqlite::memory:` is an in-memory database.
 * @throws ValidationError TERN_INVALID_REQUEST (field `store`) for an empty URL, an empty
 * SQLite path or an unsupported scheme (the message names the scheme only, never credentials).
 */
export function parseStoreUrl(url: string): StoreLocation {
  const fail = (message: string): ValidationError => new ValidationError('store', `${message}; accepted: ${ACCEPTED}`);
  if (url.trim() === '') throw fail('the store URL is empty');
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'sqlite', file: url };
  if (scheme === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw fail('sqlite: needs a file path, e.g. sqlite:./.tern/tern.db');
    return { kind: 'sqlite', file };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: 'postgres', connectionString: url };
  throw fail(`unsupported store URL scheme "${scheme}:"`);
}

/**
 * Opens (creating and migrating as needed) the store `url` names.
 * @throws ValidationError TERN_INVALID_REQUEST (field `store`) for a URL it does not accept;
 * StoreError TERN_STORE_UNAVAILABLE when the database cannot be opened.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url);
  const { clock, logger, poolSize } = options;
  switch (location.kind) {
    case 'sqlite':
      return openSqliteStore({ file: location.file, ...(clock && { clock }), ...(logger && { logger }) });
    case 'postgres':
      return openPostgresStore({
        connectionString: location.connectionString,
        ...(clock && { clock }),
        ...(logger && { logger }),
        ...(poolSize !== undefined && { poolSize }),
      });
    default: {
      const unknown: never = location;
      throw new ValidationError('store', `unsupported store kind ${JSON.stringify(unknown)}; accepted: ${ACCEPTED}`);
    }
  }
}
