/**
 * Migration 7: accepted feedback scores are audited in aggregate, one event per (service,
 * minute, actor) instead of one per score. The open buckets live here, updated in the same
 * transaction as each score (so a crash loses none of them), and become append-only audit
 * events once their minute is over (Store.flushFeedbackAudit). JSON as text, times epoch ms.
 */
import type { Migration } from './migration.js';

export const feedbackAudit: Migration = {
  version: 7,
  name: 'feedback-audit',
  async up(db) {
    await db.schema
      .createTable('feedback_audit')
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('minute', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('first_at', 'bigint', (c) => c.notNull())
      .addColumn('last_at', 'bigint', (c) => c.notNull())
      .addColumn('tally', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('feedback_audit_pk', ['service', 'minute', 'actor'])
      .execute();
    await db.schema.createIndex('feedback_audit_minute').on('feedback_audit').column('minute').execute();
  },
};
