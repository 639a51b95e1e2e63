/**
 * Migration 9: the data-plane registry (each gateway or proxy agent's latest status report)
 * and, on releases, the routing version written with the current weight and when every live
 * data plane had applied it (the step's hold starts then). Releases stored before count as
 * applied when their step began. JSON as text, times epoch ms.
 */
import { sql } from 'kysely';
import type { Migration } from './migration.js';

export const dataPlanes: Migration = {
  version: 9,
  name: 'data-planes',
  async up(db) {
    await db.schema
      .createTable('data_planes')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('applied_version', 'bigint', (c) => c.notNull())
      .addColumn('features', 'text', (c) => c.notNull())
      .addColumn('services', 'text')
      .addColumn('first_seen', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      .addColumn('left_at', 'bigint')
      .execute();
    await db.schema.alterTable('releases').addColumn('routing_version', 'bigint').execute();
    await db.schema.alterTable('releases').addColumn('step_applied_at', 'bigint').execute();
    await sql`update releases set step_applied_at = step_started_at`.execute(db);
  },
};
