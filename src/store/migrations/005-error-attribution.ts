/**
 * Migration 5: whose errors a metric window holds. `gateway_errors` counts requests the gateway
 * failed itself (never the version's errors; 0 for rows written before); `error_users` is the
 * JSON object of the users with the most errors (user-key hash → errors), null when none.
 */
import type { Migration } from './migration.js';

export const errorAttribution: Migration = {
  version: 5,
  name: 'error-attribution',
  async up(db) {
    await db.schema
      .alterTable('metric_windows')
      .addColumn('gateway_errors', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('metric_windows').addColumn('error_users', 'text').execute();
  },
};
