/**
 * Migration 8: which hash a release's sticky split uses (core/sticky.ts). Releases
 * stored before it started on MurmurHash3 and keep it ('murmur3', the column default), so an
 * upgrade in the middle of a release moves none of its users; new releases write 'xxh32'.
 */
import type { Migration } from './migration.js';

export const bucketHash: Migration = {
  version: 8,
  name: 'bucket-hash',
  async up(db) {
    await db.schema
      .alterTable('releases')
      .addColumn('bucket_hash', 'text', (c) => c.notNull().defaultTo('murmur3'))
      .execute();
  },
};
