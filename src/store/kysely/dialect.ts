/**
 * What differs between the SQL databases behind the shared Kysely store: how a write
 * transaction takes its lock, how a consistent read is taken, how migrations serialize, and
 * how driver errors are classified. Everything else (queries, semantics) is shared.
 */
import type { Kysely } from 'kysely';
import type { DialectName } from '../migrations/migration.js';
import type { Database } from './schema.js';

export type { DialectName };

export interface StoreDialect {
  readonly name: DialectName;
  /**
   * Whether `select ... for update` exists (PostgreSQL). SQLite has no row locks; its write
   * transactions hold the database write lock from their first statement instead.
   */
  readonly rowLocks: boolean;
  /**
   * Runs `fn` in one transaction that is guaranteed to be able to write: on SQLite `BEGIN
   * IMMEDIATE`, because a deferred transaction that upgrades from read to write gets
   * SQLITE_BUSY that no busy timeout resolves. Commits when `fn` resolves, rolls back and
   * rethrows when it throws.
   */
  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Called first in the migration transaction: makes concurrent openers of one database
   * migrate one after the other (SQLite: nothing to do, BEGIN IMMEDIATE already holds the
   * write lock; PostgreSQL: an advisory lock, since DDL alone does not serialize them).
   */
  lockMigrations(trx: Kysely<Database>): Promise<void>;
  /** Runs `fn` over one consistent snapshot (several reads that must agree). */
  readSnapshot<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** A unique or primary-key violation. */
  isUniqueViolation(err: unknown): boolean;
  /** A failure that is not the caller's fault: busy after the timeout, I/O, disk full, corruption. */
  isUnavailable(err: unknown): boolean;
}
