/**
 * Migration 1: the initial schema. Portable by construction: text, integer,
 * bigint and double precision only; JSON as text; times as integer epoch ms. Only the
 * auto-increment ids and the append-only triggers differ between SQLite and PostgreSQL.
 */
import { sql } from 'kysely';
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';
import type { DialectName, Migration } from './migration.js';

// Frozen copy of ACTIVE_STATUSES as of this migration: a later change to the state machine
// needs a new migration that rebuilds the index, not an edit here.
const ACTIVE_AT_V1 = ['pending', 'progressing', 'paused', 'promoting', 'rolling_back'];

type Table = CreateTableBuilder<string, never>;

/** Adds an auto-increment primary key `id` that is never reused (audit paging relies on it). */
export function withSerialId(table: Table, dialect: DialectName): Table {
  return dialect === 'postgres'
    ? table.addColumn('id', 'bigserial', (c) => c.primaryKey())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

const notNull = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => c.notNull();

async function createCoreTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', notNull)
    .execute();
  await sql`insert into meta (key, value) values ('routing_version', '0')`.execute(db);

  await db.schema
    .createTable('services')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('match', 'text', notNull)
    .addColumn('stickiness', 'text', notNull)
    .addColumn('stable_version', 'text', notNull)
    .addColumn('stable_endpoints', 'text', notNull)
    .addColumn('rules', 'text', notNull)
    .addColumn('created_at', 'bigint', notNull)
    .addColumn('updated_at', 'bigint', notNull)
    .execute();

  await db.schema
    .createTable('releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('service', 'text', (c) => c.notNull().references('services.name'))
    .addColumn('version', 'text', notNull)
    .addColumn('endpoints', 'text', notNull)
    .addColumn('baseline', 'text', notNull)
    .addColumn('status', 'text', notNull)
    .addColumn('step_index', 'integer', notNull)
    .addColumn('weight', 'integer', notNull)
    .addColumn('salt', 'text', notNull)
    .addColumn('steps', 'text', notNull)
    .addColumn('analysis', 'text', notNull)
    .addColumn('metadata', 'text', notNull)
    .addColumn('created_by', 'text', notNull)
    .addColumn('started_at', 'bigint', notNull)
    .addColumn('step_started_at', 'bigint', notNull)
    .addColumn('updated_at', 'bigint', notNull)
    .addColumn('ended_at', 'bigint')
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('releases_service_started').on('releases').columns(['service', 'started_at']).execute();
  // The database itself guarantees one active release per service, whatever the code does.
  await db.schema
    .createIndex('releases_one_active')
    .on('releases')
    .column('service')
    .unique()
    .where(sql.ref('status'), 'in', ACTIVE_AT_V1)
    .execute();
}

async function createEvidenceTables(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('metric_windows')
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
    .addColumn('version', 'text', notNull)
    .addColumn('window_start', 'bigint', notNull)
    .addColumn('window_ms', 'integer', notNull)
    .addColumn('requests', 'bigint', notNull)
    .addColumn('errors', 'bigint', notNull)
    .addColumn('latency', 'text', notNull)
    .addColumn('feedback_sum', 'double precision', notNull)
    .addColumn('feedback_count', 'bigint', notNull)
    .addPrimaryKeyConstraint('metric_windows_pk', ['release_id', 'version', 'window_start'])
    .execute();

  await withSerialId(db.schema.createTable('feedback'), dialect)
    .addColumn('service', 'text', (c) => c.notNull().references('services.name'))
    .addColumn('score', 'double precision', notNull)
    .addColumn('user_key', 'text')
    .addColumn('version', 'text')
    .addColumn('release_id', 'text')
    .addColumn('at', 'bigint', notNull)
    .execute();
  await db.schema.createIndex('feedback_service_at').on('feedback').columns(['service', 'at']).execute();

  await withSerialId(db.schema.createTable('alerts'), dialect)
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
    .addColumn('metric', 'text', notNull)
    .addColumn('threshold', 'double precision', notNull)
    .addColumn('observed', 'double precision', notNull)
    .addColumn('triggered_at', 'bigint', notNull)
    .addColumn('resolved_at', 'bigint')
    .execute();
  await db.schema.createIndex('alerts_release').on('alerts').column('release_id').execute();
}

async function createAuditAndTokens(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  // No foreign keys: audit events outlive what they describe (a deleted service keeps its history).
  await withSerialId(db.schema.createTable('audit_events'), dialect)
    .addColumn('at', 'bigint', notNull)
    .addColumn('actor', 'text', notNull)
    .addColumn('source', 'text')
    .addColumn('action', 'text', notNull)
    .addColumn('target', 'text', notNull)
    .addColumn('service', 'text')
    .addColumn('outcome', 'text', notNull)
    .addColumn('reason', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_events_service').on('audit_events').columns(['service', 'id']).execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
  await forbidAuditChanges(db, dialect);

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', notNull)
    .addColumn('role', 'text', notNull)
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', notNull)
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
}

/**
 * Makes audit_events append-only in the database itself: UPDATE and DELETE raise (and on
 * PostgreSQL TRUNCATE too, which row triggers would not see; a statement trigger sees all three).
 */
async function forbidAuditChanges(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') {
    // SQLSTATE 23000 (integrity_constraint_violation) rather than the default P0001: the
    // attempt breaks an integrity rule of the schema.
    await sql`create function audit_events_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_events is append-only (% refused)', tg_op using errcode = 'integrity_constraint_violation';
      end $$`.execute(db);
    await sql`create trigger audit_events_no_change before update or delete or truncate on audit_events
      for each statement execute function audit_events_append_only()`.execute(db);
    return;
  }
  for (const op of ['update', 'delete'] as const) {
    await sql`create trigger ${sql.id(`audit_events_no_${op}`)} before ${sql.raw(op)} on audit_events
      begin select raise(abort, 'audit_events is append-only'); end`.execute(db);
  }
}

export const initial: Migration = {
  version: 1,
  name: 'initial',
  async up(db, dialect) {
    await createCoreTables(db);
    await createEvidenceTables(db, dialect);
    await createAuditAndTokens(db, dialect);
  },
};
