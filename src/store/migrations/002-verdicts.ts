/**
 * Migration 2: analysis verdicts (every verdict is stored with its statistic,
 * bound, sample sizes and the windows it used). Per-check evidence is JSON text like the rest
 * of the schema.
 */
import { withSerialId } from './001-initial.js';
import type { Migration } from './migration.js';

export const verdicts: Migration = {
  version: 2,
  name: 'verdicts',
  async up(db, dialect) {
    await withSerialId(db.schema.createTable('analysis_verdicts'), dialect)
      .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
      .addColumn('step_index', 'integer', (c) => c.notNull())
      .addColumn('judge', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('checks', 'text', (c) => c.notNull())
      .addColumn('window_from', 'bigint')
      .addColumn('window_to', 'bigint')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('analysis_verdicts_release_at').on('analysis_verdicts').columns(['release_id', 'at']).execute();
    await db.schema
      .createIndex('analysis_verdicts_release_step')
      .on('analysis_verdicts')
      .columns(['release_id', 'step_index', 'id'])
      .execute();
  },
};
