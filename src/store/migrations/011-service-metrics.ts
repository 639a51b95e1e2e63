/**
 * Migration 11: a service's metric source — `{"source":"builtin"}` or Prometheus with
 * a template, params and queries — as JSON text, nullable: rows written before read back as
 * builtin.
 */
import type { Migration } from './migration.js';

export const serviceMetrics: Migration = {
  version: 11,
  name: 'service-metrics',
  async up(db) {
    await db.schema.alterTable('services').addColumn('metrics', 'text').execute();
  },
};
