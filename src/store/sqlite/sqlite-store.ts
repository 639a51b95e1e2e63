/**
 * SqliteStore: the embedded default Store, one SQLite file through better-sqlite3 (v12) with
 * Kysely. WAL lets readers run beside the writer; synchronous=FULL makes a commit survive power
 * loss, not only a process crash; several processes may share one file (writes serialize on
 * SQLite's write lock, waiting up to busy_timeout).
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Logger } from 'pino';
import { StoreError, TernError } from '../../core/errors.js';
import { systemClock } from '../../core/types.js';
import type { Clock } from '../../core/types.js';
import { createKyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';
import { migrate } from '../migrations/migrate.js';
import type { Store } from '../store.js';
import { sqliteDialect } from './sqlite-dialect.js';

export interface SqliteStoreOptions {
  /** Path of the database file (created when missing), or `:memory:`. */
  readonly file: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How long a write waits for another process's write lock before failing; default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

function unavailable(file: string, err: unknown): StoreError {
  return new StoreError(`cannot open the SQLite database ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Opens the file and sets the connection's pragmas. @throws StoreError when it cannot. */
function openDatabase(file: string, busyTimeoutMs: number, logger: Logger | undefined): BetterSqlite3.Database {
  let database: BetterSqlite3.Database;
  try {
    database = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  } catch (err) {
    throw unavailable(file, err);
  }
  try {
    // busy_timeout first: switching a fresh file to WAL needs a lock another opener may hold.
    database.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    const mode = database.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && file !== ':memory:') logger?.warn({ file, mode }, 'SQLite did not switch to WAL; readers will block the writer');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database.close();
    throw unavailable(file, err);
  }
  return database;
}

/**
 * Opens (creating when missing) a SQLite store and applies pending migrations.
 * Defaults: system clock, no logger, 5 s busy timeout.
 * @throws StoreError (TERN_STORE_UNAVAILABLE) when the file cannot be opened or migrated, or
 * its schema is newer than this code.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: openDatabase(options.file, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, logger) }),
  });
  try {
    await migrate(db, sqliteDialect, { clock, logger });
  } catch (err) {
    await db.destroy();
    throw err instanceof TernError ? err : unavailable(options.file, err);
  }
  return createKyselyStore(db, sqliteDialect, { clock, logger });
}
