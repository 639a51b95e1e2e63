/**
 * A database as Tern left it before migration 8: schema at version 7 and an active
 * release whose row has no bucket hash. Opening a store on it must read that release as
 * 'murmur3' — the hash its users were split with — so an upgrade mid-release moves nobody.
 */
import type { Kysely } from 'kysely';
import { compileAnalysis, compilePlan } from '../../core/plan.js';
import { systemClock, type Release, type Service } from '../../core/types.js';
import type { StoreDialect } from '../kysely/dialect.js';
import { releaseRow, serviceRow } from '../kysely/rows.js';
import type { Database } from '../kysely/schema.js';
import { MIGRATIONS } from '../migrations/index.js';
import { migrate } from '../migrations/migrate.js';

/** Migrates `db` up to version 7 and stores service `legacy` with a release at 25%; returns that release. */
export async function storePreBucketHashRelease(db: Kysely<Database>, dialect: StoreDialect): Promise<Release> {
  await migrate(db, dialect, { clock: systemClock, migrations: MIGRATIONS.filter((m) => m.version < 8) });
  const now = Date.now();
  const service: Service = {
    name: 'legacy',
    match: { pathPrefix: '/legacy' },
    stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
    stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
    rules: [],
    webhooks: [],
    createdAt: now,
    updatedAt: now,
  };
  const release: Release = {
    id: 'rel_before_issue_12',
    service: 'legacy',
    version: 'v2',
    endpoints: ['http://127.0.0.1:9002'],
    baseline: service.stable,
    status: 'progressing',
    stepIndex: 1,
    weight: 2500,
    salt: 'ksEl7BnKZFL_zgEcvv6eYA',
    bucketHash: 'murmur3',
    steps: compilePlan('5,25,100'),
    analysis: compileAnalysis(undefined),
    metadata: {},
    webhooks: [],
    deployment: null,
    createdBy: 'token:ci',
    startedAt: now,
    stepStartedAt: now,
    updatedAt: now,
    endedAt: null,
    reason: null,
  };
  // Column of a later migration (011 metric source) does not exist yet.
  const { metrics: _metrics, ...serviceColumns } = serviceRow(service);
  await db.insertInto('services').values(serviceColumns).execute();
  // Columns of later migrations (008 bucket hash, 009 routing version and applied time) do not exist yet.
  const { bucket_hash: _hash, routing_version: _routing, step_applied_at: _applied, ...row } = releaseRow(release);
  await db
    .insertInto('releases')
    .values(row as typeof row & { bucket_hash: string; routing_version: null; step_applied_at: null })
    .execute();
  // As a migrated store reads it back: migration 009 counts an older release's hold from its step start.
  return { ...release, routingVersion: null, stepAppliedAt: release.stepStartedAt };
}
