/**
 * Store methods for release evidence: metric windows pushed by the data plane (merged, never
 * overwritten) and user feedback (audited in aggregate, see feedback-audit.ts).
 */
import type { Kysely } from 'kysely';
import { NotFoundError } from '../../core/errors.js';
import type { MetricWindow } from '../../core/types.js';
import type { Store } from '../store.js';
import { addWindows, mergeBatch } from './metric-merge.js';
import { addToFeedbackAudit } from './feedback-audit.js';
import { findRelease, findService, lockFor, withLock } from './queries.js';
import type { RowLock } from './queries.js';
import { metricWindowRow, toJson, toMetricWindow } from './rows.js';
import type { StoreRuntime } from './runtime.js';
import type { Database } from './schema.js';

type EvidenceOperations = Pick<Store, 'appendMetricWindows' | 'listMetricWindows' | 'addFeedback'>;

/** Window key order: concurrent batches lock the rows they share in one order, so they never deadlock. */
function byKey(a: MetricWindow, b: MetricWindow): number {
  if (a.releaseId !== b.releaseId) return a.releaseId < b.releaseId ? -1 : 1;
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  return a.windowStart - b.windowStart;
}

/**
 * Adds one window to what is stored under its key. Insert-or-nothing first, then lock and add:
 * correct under SQLite's write lock and under PostgreSQL's row locks alike.
 */
async function mergeWindow(trx: Kysely<Database>, w: MetricWindow, lock: RowLock | undefined): Promise<void> {
  const inserted = await trx
    .insertInto('metric_windows')
    .values(metricWindowRow(w))
    .onConflict((oc) => oc.columns(['release_id', 'version', 'window_start']).doNothing())
    .returning('release_id')
    .executeTakeFirst();
  if (inserted) return;
  const stored = await withLock(
    trx
      .selectFrom('metric_windows')
      .selectAll()
      .where('release_id', '=', w.releaseId)
      .where('version', '=', w.version)
      .where('window_start', '=', w.windowStart),
    lock,
  ).executeTakeFirstOrThrow();
  const sum = addWindows(toMetricWindow(stored), w);
  await trx
    .updateTable('metric_windows')
    .set({
      requests: sum.requests,
      errors: sum.errors,
      latency: toJson(sum.latency),
      feedback_sum: sum.feedbackSum,
      feedback_count: sum.feedbackCount,
      gateway_errors: sum.gatewayErrors ?? 0,
      error_users: sum.errorUsers === undefined ? null : toJson(sum.errorUsers),
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
      const batch = mergeBatch(windows).sort(byKey);
      await rt.write(async (trx) => {
        const ids = [...new Set(batch.map((w) => w.releaseId))];
        // Key-share locked: a release we write windows for cannot be deleted before we commit.
        const knownRows = await withLock(
          trx.selectFrom('releases').select('id').where('id', 'in', ids),
          lockFor(rt, 'key share'),
        ).execute();
        const known = new Set(knownRows.map((r) => r.id));
        // A gateway may still report a release whose service was just deleted; keep the rest of its batch.
        const unknown = ids.filter((id) => !known.has(id));
        if (unknown.length > 0) rt.logger?.warn({ releases: unknown }, 'metric windows for unknown releases dropped');
        for (const w of batch) if (known.has(w.releaseId)) await mergeWindow(trx, w, lockFor(rt, 'no key update'));
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
        if (!(await findService(trx, feedback.service, lockFor(rt, 'key share')))) {
          throw new NotFoundError('TERN_SERVICE_NOT_FOUND', `service ${feedback.service} does not exist`, {
            details: { service: feedback.service },
          });
        }
        if (feedback.releaseId !== null) {
          const release = await findRelease(trx, feedback.releaseId, lockFor(rt, 'key share'));
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
          await mergeWindow(trx, w, lockFor(rt, 'no key update'));
        }
        // Audited in aggregate (one event per service, minute and actor), not one event per score.
        await addToFeedbackAudit(trx, lockFor(rt, 'no key update'), feedback, audit);
        return { value: undefined };
      }),
  };
}
