/**
 * Migration 10: idempotent evidence. A metric window is stored once per source —
 * the data plane that pushed it — keyed by (release, version, window start, source): a
 * repeat from the same source replaces its row (a retried push or a re-read log never counts
 * twice), rows of several sources for one second add up when read. Rows written before get
 * the source '' (ADDITIVE_SOURCE: not a data plane's name, pushes name one of at least one
 * character), which feedback scores also add to. `latency_sample_rate` is the share of
 * requests the latency histogram sampled (0 < r ≤ 1; null = every request was timed).
 *
 * SQLite cannot change a primary key in place, so its table is rebuilt; PostgreSQL alters it.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from './migration.js';

/** Frozen copy of the store's additive source as of this migration. */
const ADDITIVE_AT_V10 = '';

async function rebuildSqlite(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('metric_windows_v10')
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'integer', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('errors', 'bigint', (c) => c.notNull())
    .addColumn('latency', 'text', (c) => c.notNull())
    .addColumn('feedback_sum', 'double precision', (c) => c.notNull())
    .addColumn('feedback_count', 'bigint', (c) => c.notNull())
    .addColumn('gateway_errors', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('error_users', 'text')
    .addColumn('latency_sample_rate', 'double precision')
    .addPrimaryKeyConstraint('metric_windows_pk', ['release_id', 'version', 'window_start', 'source'])
    .execute();
  await sql`insert into metric_windows_v10 (release_id, version, window_start, source, window_ms, requests, errors, latency,
      feedback_sum, feedback_count, gateway_errors, error_users)
    select release_id, version, window_start, ${ADDITIVE_AT_V10}, window_ms, requests, errors, latency,
      feedback_sum, feedback_count, gateway_errors, error_users from metric_windows`.execute(db);
  await db.schema.dropTable('metric_windows').execute();
  await db.schema.alterTable('metric_windows_v10').renameTo('metric_windows').execute();
}

async function alterPostgres(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('metric_windows')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo(ADDITIVE_AT_V10))
    .execute();
  await db.schema
    .alterTable('metric_windows')
    .alterColumn('source', (c) => c.dropDefault())
    .execute();
  await db.schema.alterTable('metric_windows').addColumn('latency_sample_rate', 'double precision').execute();
  await db.schema.alterTable('metric_windows').dropConstraint('metric_windows_pk').execute();
  await db.schema
    .alterTable('metric_windows')
    .addPrimaryKeyConstraint('metric_windows_pk', ['release_id', 'version', 'window_start', 'source'])
    .execute();
}

export const windowSource: Migration = {
  version: 10,
  name: 'window-source',
  async up(db, dialect) {
    if (dialect === 'sqlite') await rebuildSqlite(db);
    else await alterPostgres(db);
  },
};
