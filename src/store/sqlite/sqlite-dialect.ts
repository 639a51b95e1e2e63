/**
 * The SQLite side of the shared Kysely store: write transactions begin IMMEDIATE, and
 * better-sqlite3 error codes are sorted into caller conflicts and store unavailability.
 */
import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import type { StoreDialect } from '../kysely/dialect.js';
import type { Database } from '../kysely/schema.js';

// Result codes (https://www.sqlite.org/rescode.html) that mean the database, not the request,
// is at fault; extended codes (SQLITE_IOERR_FSYNC, ...) match by prefix.
const UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_NOMEM',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
  'SQLITE_PERM',
  'SQLITE_NOLFS',
];

function sqliteCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' && err.code.startsWith('SQLITE_') ? err.code : undefined;
}

/**
 * Runs `fn` between `begin` and `commit` on Kysely's single SQLite connection (its mutex keeps
 * other queries of this process out meanwhile); rolls back and rethrows when anything fails.
 */
async function inTransaction<T>(db: Kysely<Database>, begin: RawBuilder<unknown>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await begin.execute(conn);
    try {
      const value = await fn(conn);
      await sql`commit`.execute(conn);
      return value;
    } catch (err) {
      // SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR); then this
      // rollback fails with "no transaction is active", which changes nothing.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  rowLocks: false,
  // A deferred BEGIN that later writes fails with SQLITE_BUSY when another process holds the
  // write lock, and busy_timeout cannot help (https://www.sqlite.org/lang_transaction.html);
  // IMMEDIATE takes the lock first, waiting up to busy_timeout for it.
  writeTransaction: (db, fn) => inTransaction(db, sql`begin immediate`, fn),
  // A deferred read transaction sees one WAL snapshot from its first read to its commit.
  readSnapshot: (db, fn) => inTransaction(db, sql`begin`, fn),
  // The migration runs in a BEGIN IMMEDIATE transaction, which already excludes other writers.
  lockMigrations: () => Promise.resolve(),
  isUniqueViolation: (err) => {
    const code = sqliteCode(err);
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  isUnavailable: (err) => {
    const code = sqliteCode(err);
    return code !== undefined && UNAVAILABLE.some((c) => code === c || code.startsWith(`${c}_`));
  },
};
