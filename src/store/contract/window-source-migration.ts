/**
 * Migration 10 on a database that already holds evidence, run by the SQLite and PostgreSQL
 * tests on a raw connection: windows stored before it read back unchanged and keep counting
 * once, a data plane pushing the same second afterwards adds to them (its repeats replace
 * only its own row), and feedback still adds to the old row.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { systemClock } from '../../core/types.js';
import type { StoreDialect } from '../kysely/dialect.js';
import { createKyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';
import { MIGRATIONS } from '../migrations/index.js';
import { migrate } from '../migrations/migrate.js';
import { serviceRow } from '../kysely/rows.js';
import { auditOf, metricWindow, serviceInput, startRelease } from './fixtures.js';

const T = 1_700_000_000_000;

/** Runs the scenario on `db` (fresh, empty); closes it. */
export async function checkWindowSourceMigration(db: Kysely<Database>, dialect: StoreDialect): Promise<void> {
  await migrate(db, dialect, { clock: systemClock, migrations: MIGRATIONS.filter((m) => m.version < 10) });
  const store = createKyselyStore(db, dialect, { clock: systemClock });
  try {
    // As the store before migration 11 wrote it: no metric source column yet.
    const { metrics: _metrics, ...service } = serviceRow({ ...serviceInput('checkout'), createdAt: T, updatedAt: T });
    await db.insertInto('services').values(service).execute();
    const { id } = await startRelease(store, 'checkout');
    // Two gateways' reports as the old store kept them: already added up in one row.
    await sql`insert into metric_windows (release_id, version, window_start, window_ms, requests, errors, latency,
        feedback_sum, feedback_count, gateway_errors, error_users)
      values (${id}, 'v2', ${T}, 1000, 30, 3, '{"10":30}', 4, 1, 1, '{"00000001":2}')`.execute(db);
    assert.deepEqual(await migrate(db, dialect, { clock: systemClock, migrations: MIGRATIONS.filter((m) => m.version <= 10) }), [10]);

    const before = metricWindow(id, 'v2', T, {
      requests: 30,
      errors: 3,
      latency: { '10': 30 },
      feedbackSum: 4,
      feedbackCount: 1,
      gatewayErrors: 1,
      errorUsers: { '00000001': 2 },
    });
    assert.deepEqual(await store.listMetricWindows(id), [before], 'a window stored before reads back unchanged');
    const push = metricWindow(id, 'v2', T, { requests: 10, errors: 1, latency: { '12': 10 }, errorUsers: { '00000001': 1 } });
    await store.appendMetricWindows('gw-a', [push]);
    await store.appendMetricWindows('gw-a', [push]);
    await store.addFeedback(
      { service: 'checkout', score: 2, userKey: null, version: 'v2', releaseId: id, at: T + 10 },
      auditOf('feedback.submitted', 'service/checkout'),
    );
    const [w] = await store.listMetricWindows(id);
    assert.deepEqual(
      [w?.requests, w?.errors, w?.gatewayErrors, w?.latency, w?.feedbackSum, w?.feedbackCount, w?.errorUsers],
      [40, 4, 1, { '10': 30, '12': 10 }, 6, 2, { '00000001': 3 }],
    );
  } finally {
    await store.close();
  }
}
