/**
 * Migration 3: what several controllers sharing one database need to coordinate — named
 * leases (leader election), and at most one open alert per (release, metric), so
 * raising an alert is one atomic upsert however many controllers race to raise it.
 */
import { sql } from 'kysely';
import type { Migration } from './migration.js';

export const leases: Migration = {
  version: 3,
  name: 'leases',
  async up(db) {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('alerts_one_open')
      .on('alerts')
      .columns(['release_id', 'metric'])
      .unique()
      .where(sql.ref('resolved_at'), 'is', null)
      .execute();
  },
};
