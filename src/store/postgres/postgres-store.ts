/**
 * PostgresStore: the production Store, PostgreSQL through `pg` (v8) with Kysely — the same
 * queries and migrations as SqliteStore. Several controllers (and API replicas) may share one
 * database: writes serialize on row locks (see postgres-dialect.ts), migrations on an
 * advisory lock, and each store hears the others' changes over LISTEN/NOTIFY
 * (postgres-change-feed.ts). The tables live in the connection's current schema, so one
 * database can hold several installations (`?options=-c%20search_path%3Dname` in the URL).
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Client, Pool } from 'pg';
import type { ClientConfig, PoolConfig } from 'pg';
import type { Logger } from 'pino';
import { StoreError, TernError, ValidationError } from '../../core/errors.js';
import { systemClock } from '../../core/types.js';
import type { Clock } from '../../core/types.js';
import type { ChangeFeed } from '../kysely/change-feed.js';
import { createKyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';
import { migrate } from '../migrations/migrate.js';
import type { Store } from '../store.js';
import { openPgChangeFeed } from './postgres-change-feed.js';
import { postgresDialect } from './postgres-dialect.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; libpq-style parameters in the query string are honoured. */
  readonly connectionString: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Pooled connections for queries and writes; default 10 (the change feed holds one more). */
  readonly poolSize?: number;
  /** How long connecting may take before TERN_STORE_UNAVAILABLE; default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** How long a statement waits for a row lock before the write fails as unavailable (SQLite's busy timeout, same default). */
export const LOCK_TIMEOUT_MS = 5000;
/** A session idle inside a transaction this long (a hung process) is ended, freeing its locks. */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/** The connection string with its password masked, for messages and logs. */
export function redactUrl(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable PostgreSQL URL)';
  }
}

function positiveInt(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new ValidationError(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

function clientConfig(options: PostgresStoreOptions): ClientConfig {
  return {
    connectionString: options.connectionString,
    connectionTimeoutMillis: positiveInt('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    // Session settings sent at connect; settings in the URL take precedence over these.
    lock_timeout: LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    fallback_application_name: 'tern',
  };
}

/**
 * Opens a PostgreSQL store: connects, applies pending migrations (under an advisory lock, so
 * controllers starting together migrate once), and starts listening for other stores' changes.
 * Defaults: system clock, no logger, a pool of 10, 5 s connect timeout.
 * @throws ValidationError TERN_INVALID_REQUEST for a bad pool size or timeout; StoreError
 * TERN_STORE_UNAVAILABLE when the database cannot be reached or migrated, or its schema is
 * newer than this code.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const config = clientConfig(options);
  const poolConfig: PoolConfig = { ...config, max: positiveInt('poolSize', options.poolSize, DEFAULT_POOL_SIZE) };
  const pool = new Pool(poolConfig);
  // An idle pooled connection that dies (server restart, network) emits 'error'; unheard, it
  // would crash the process. The pool replaces it on the next checkout.
  pool.on('error', (err) => logger?.warn({ err }, 'idle PostgreSQL connection failed'));
  // A connection the server ends while it is checked out (a database restart between two
  // queries of a transaction) emits 'error' too, and the pool listens only to idle ones: every
  // connection gets its own listener for life. The query in flight fails on its own path (a
  // StoreError, 503), and the pool drops the broken connection when it comes back.
  pool.on('connect', (client) => client.on('error', (err) => logger?.warn({ err }, 'PostgreSQL connection failed')));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let feed: ChangeFeed | undefined;
  try {
    await migrate(db, postgresDialect, { clock, logger });
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema;
    if (!schema) throw new StoreError('the connection has no current schema; check search_path in the URL');
    feed = await openPgChangeFeed({ schema, db, logger, client: () => new Client(config) });
  } catch (err) {
    await db.destroy().catch(() => undefined);
    if (err instanceof TernError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new StoreError(`cannot open the PostgreSQL store at ${redactUrl(options.connectionString)}: ${reason}`, { cause: err });
  }
  logger?.info({ url: redactUrl(options.connectionString) }, 'PostgreSQL store open');
  return createKyselyStore(db, postgresDialect, { clock, logger, feed });
}
