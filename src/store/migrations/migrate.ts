/**
 * Applies pending migrations when a store opens: all of them in one write transaction, each
 * recorded in `schema_migrations`, so re-opening applies only new ones and several processes
 * opening one database at once apply each migration exactly once.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { StoreError } from '../../core/errors.js';
import type { Clock } from '../../core/types.js';
import type { StoreDialect } from '../kysely/dialect.js';
import type { Database } from '../kysely/schema.js';
import { MIGRATIONS } from './index.js';
import type { Migration } from './migration.js';

export interface MigrateOptions {
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly migrations?: readonly Migration[];
}

/**
 * Brings the schema up to date; returns the versions it applied (empty when none were due).
 * @throws StoreError when the database was migrated by a newer Tern (its schema is ahead of this code).
 */
export async function migrate(db: Kysely<Database>, dialect: StoreDialect, options: MigrateOptions): Promise<number[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  assertOrdered(migrations);
  return dialect.writeTransaction(db, async (trx) => {
    await dialect.lockMigrations(trx);
    await trx.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const rows = await trx.selectFrom('schema_migrations').select('version').execute();
    const applied = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...applied);
    const known = migrations.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new StoreError(`the database schema is at version ${newest} but this Tern knows only up to ${known}; run a newer Tern`);
    }
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await migration.up(trx as unknown as Kysely<unknown>, dialect.name);
      await trx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: options.clock() })
        .execute();
      options.logger?.info({ version: migration.version, name: migration.name }, 'store migration applied');
    }
    return pending.map((m) => m.version);
  });
}

/** A mis-numbered migration list is a programming error, caught before it touches a database. */
function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const previous = i === 0 ? 0 : (migrations[i - 1]?.version ?? 0);
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migration "${m.name}" has version ${m.version}; versions must be integers rising from 1`);
    }
  });
}
