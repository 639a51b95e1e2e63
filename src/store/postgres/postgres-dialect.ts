/**
 * The PostgreSQL side of the shared Kysely store: READ COMMITTED write transactions with row
 * locks, retried on deadlock; REPEATABLE READ read-only snapshots; an advisory lock around
 * migrations; and SQLSTATEs sorted into caller conflicts and store unavailability.
 *
 * Why row locks rather than SERIALIZABLE: nearly every audited write bumps or reads the one
 * `meta.routing_version` row, so under SERIALIZABLE almost any two concurrent writes would
 * form a read/write dependency and one would fail with 40001, turning ordinary concurrency
 * (gateways pushing metrics, an operator pausing while the controller steps) into retry
 * storms. Under READ COMMITTED the queries say what they depend on instead: a locking read
 * (`RowLock` in kysely/queries.ts) for every read-then-write, unique indexes for the rest
 * (one active release per service, one open alert per metric), and the routing bump is an
 * in-place increment whose row lock orders writers exactly as they commit. Deadlocks remain
 * possible where lock order cannot be fixed (deleting a service while metrics for it arrive),
 * so 40P01 and 40001 are retried a few times; the transaction function may therefore run
 * more than once, which is why Store callers' `change` functions must be pure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { StoreDialect } from '../kysely/dialect.js';

/** Attempts of a write transaction that keeps failing with a deadlock or serialization failure. */
export const WRITE_ATTEMPTS = 5;

/** pg_advisory_xact_lock(key1, key2) of migrations: 'tern' in ASCII, then 1. */
const MIGRATION_LOCK = [0x7465726e, 1] as const;

/** How long an opener waits for another one's migration before giving up. */
const MIGRATION_LOCK_TIMEOUT = '60s';

const RETRY = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/**
 * SQLSTATE classes and codes (https://www.postgresql.org/docs/15/errcodes-appendix.html) that
 * mean the database, not the request, is at fault.
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', 'XX']); // connection, resources, operator intervention, system, internal
const UNAVAILABLE_CODES = new Set([
  '40001', // serialization_failure, after the retries
  '40P01', // deadlock_detected, after the retries
  '55P03', // lock_not_available: lock_timeout expired
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist
]);

/** pg's own connection failures carry no code, only these messages. */
const CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end|timeout expired|Query read timeout)/;

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/** A Node socket error (ECONNREFUSED, ETIMEDOUT, ENOTFOUND...); no SQLSTATE class starts with E. */
function isSystemError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && /^E[A-Z0-9_]+$/.test(code)) return true;
  // Node's happy-eyeballs connect reports every address it tried in one AggregateError.
  return err instanceof AggregateError && err.errors.some(isSystemError);
}

export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && RETRY.has(code);
}

export function isUnavailable(err: unknown): boolean {
  if (isSystemError(err)) return true;
  const code = codeOf(err);
  if (code !== undefined && code.length === 5) return UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLASSES.has(code.slice(0, 2));
  return err instanceof Error && CONNECTION_MESSAGES.test(err.message);
}

export const postgresDialect: StoreDialect = {
  name: 'postgres',
  rowLocks: true,
  async writeTransaction(db, fn) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().setIsolationLevel('read committed').execute(fn);
      } catch (err) {
        if (attempt >= WRITE_ATTEMPTS || !isRetryable(err)) throw err;
        // Jittered, growing pause so the transactions that collided do not collide again.
        await sleep(Math.random() * 10 * 2 ** attempt);
      }
    }
  },
  readSnapshot: (db, fn) => db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn),
  async lockMigrations(trx) {
    // Transactional DDL alone does not serialize openers: two `create table if not exists`
    // race on the catalog, and both would see no migration applied. The lock is released by
    // the migration transaction's commit or rollback.
    await sql`set local lock_timeout = ${sql.lit(MIGRATION_LOCK_TIMEOUT)}`.execute(trx);
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK[0])}, ${sql.lit(MIGRATION_LOCK[1])})`.execute(trx);
  },
  isUniqueViolation: (err) => codeOf(err) === '23505',
  isUnavailable,
};
