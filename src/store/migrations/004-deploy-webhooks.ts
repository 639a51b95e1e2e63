/**
 * Migration 4: webhooks (per service and per release) and deploy drivers — the service's
 * deploy settings and, per release, the processes a driver started for its canary (so a
 * restarted controller adopts or cleans them up instead of orphaning them). JSON as text,
 * nullable: rows written before this migration read back as "no webhooks, static deploy".
 */
import type { Migration } from './migration.js';

export const deployWebhooks: Migration = {
  version: 4,
  name: 'deploy-webhooks',
  async up(db) {
    await db.schema.alterTable('services').addColumn('webhooks', 'text').execute();
    await db.schema.alterTable('services').addColumn('deploy', 'text').execute();
    await db.schema.alterTable('releases').addColumn('webhooks', 'text').execute();
    await db.schema.alterTable('releases').addColumn('deployment', 'text').execute();
  },
};
