/**
 * Store methods for release evidence: metric windows pushed by the data plane (merged, never
 * overwritten), user feedback, and alerts.
 */
import type { Kysely } from 'kysely';
import { NotFoundError } from '../../core/errors.js';
import type { MetricWindow } from '../../core/types.js';
import type { Store } from '../store.js';
import { addWindows, mergeBatch } from './metric-merge.js';
import { findRelease, findService, recordChange } from './queries.js';
import { metricWindowRow, toAlert, toJson, toMetricWindow } from './rows.js';
import type { StoreRuntime } from './runtime.js';
import type { Database } from './schema.js';

type EvidenceOperations = Pick<Store, 'appendMetricWindows' | 'listMetricWindows' | 'addFeedback' | 'listAlerts'>;

/**
 * Adds one window to what is stored under its key. Insert-or-nothing first, then lock and add:
 * correct under SQLite's write lock and under PostgreSQL's row locks alike.
 */
async function mergeWindow(trx: Kysely<Database>, w: MetricWindow, rowLocks: boolean): Promise<void> {
  const inserted = await trx
    .insertInto('metric_windows')
    .values(metricWindowRow(w))
    .onConflict((oc) => oc.columns(['release_id', 'version', 'window_start']).doNothing())
    .returning('release_id')
    .executeTakeFirst();
  if (inserted) return;
  const stored = await trx
    .selectFrom('metric_windows')
    .selectAll()
    .where('release_id', '=', w.releaseId)
    .where('version', '=', w.version)
    .where('window_start', '=', w.windowStart)
    .$if(rowLocks, (q) => q.forUpdate())
    .executeTakeFirstOrThrow();
  const sum = addWindows(toMetricWindow(stored), w);
  await trx
    .updateTable('metric_windows')
    .set({
      requests: sum.requests,
      errors: sum.errors,
      latency: toJson(sum.latency),
      feedback_sum: sum.feedbackSum,
      feedback_count: sum.feedbackCount,
    })
    .where('release_id', '=', w.releaseId)
    .where('version', '=', w.version)
    .where('window_start', '=', w.windowStart)
    .execute();
}

/** Evidence methods over the shared runtime. */
export function evidenceOperations(rt: StoreRuntime): EvidenceOperations {
  return {
    appendMetricWindows: async (windows) => {
      if (windows.length === 0) return;
      const batch = mergeBatch(windows);
      await rt.write(async (trx) => {
        const ids = [...new Set(batch.map((w) => w.releaseId))];
        const known = new Set((await trx.selectFrom('releases').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
        // A gateway may still report a release whose service was just deleted; keep the rest of its batch.
        const unknown = ids.filter((id) => !known.has(id));
        if (unknown.length > 0) rt.logger?.warn({ releases: unknown }, 'metric windows for unknown releases dropped');
        for (const w of batch) if (known.has(w.releaseId)) await mergeWindow(trx, w, rt.dialect.rowLocks);
        return { value: undefined };
      });
    },

    listMetricWindows: (releaseId, options = {}) =>
      rt.query(async (db) => {
        const rows = await db
          .selectFrom('metric_windows')
          .selectAll()
          .where('release_id', '=', releaseId)
          .$if(options.since !== undefined, (q) => q.where('window_start', '>=', options.since ?? 0))
          .orderBy('window_start')
          .orderBy('version')
          .$if(options.limit !== undefined, (q) => q.limit(Math.max(0, Math.floor(options.limit ?? 0))))
          .execute();
        return rows.map(toMetricWindow);
      }),

    addFeedback: (feedback, audit) =>
      rt.write(async (trx) => {
        if (!(await findService(trx, feedback.service))) {
          throw new NotFoundError('TERN_SERVICE_NOT_FOUND', `service ${feedback.service} does not exist`, {
            details: { service: feedback.service },
          });
        }
        if (feedback.releaseId !== null) {
          const release = await findRelease(trx, feedback.releaseId);
          if (!release || release.service !== feedback.service) {
            throw new NotFoundError('TERN_RELEASE_NOT_FOUND', `service ${feedback.service} has no release ${feedback.releaseId}`, {
              details: { release: feedback.releaseId },
            });
          }
        }
        const { service, score, userKey, version, releaseId, at } = feedback;
        await trx.insertInto('feedback').values({ service, score, user_key: userKey, version, release_id: releaseId, at }).execute();
        if (releaseId !== null && version !== null) {
          // Judges read evidence per version from metric windows; feedback joins that second's window.
          const windowStart = Math.floor(at / 1000) * 1000;
          const w = {
            releaseId,
            version,
            windowStart,
            windowMs: 1000,
            requests: 0,
            errors: 0,
            latency: {},
            feedbackSum: score,
            feedbackCount: 1,
          };
          await mergeWindow(trx, w, rt.dialect.rowLocks);
        }
        const change = await recordChange(trx, rt, { kind: 'service', id: service, service, audit, routing: false });
        return { value: undefined, change };
      }),

    listAlerts: (releaseId) =>
      rt.query(async (db) =>
        (await db.selectFrom('alerts').selectAll().where('release_id', '=', releaseId).orderBy('triggered_at').orderBy('id').execute()).map(
          toAlert,
        ),
      ),
  };
}
