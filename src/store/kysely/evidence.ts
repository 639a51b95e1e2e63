/**
 * Store methods for release evidence: metric windows pushed by data planes (one row per
 * source, replaced on a repeat, added up across sources when read) and user feedback (added
 * to the additive source's row; audited in aggregate, see feedback-audit.ts).
 */
import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../../core/errors.js';
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

/**
 * The source that adds rather than replaces: feedback scores, and windows stored before
 * migration 10. Never a data plane's name (those have at least one character).
 */
export const ADDITIVE_SOURCE = '';

/**
 * Rows per upsert statement: 14 parameters a row stays far below SQLite's 32,766 and
 * PostgreSQL's 65,535 bound parameters, and a gateway's batch of 1000 takes two statements.
 */
const UPSERT_ROWS = 500;

/** Window key order: concurrent batches lock the rows they share in one order, so they never deadlock. */
function byKey(a: MetricWindow, b: MetricWindow): number {
  if (a.releaseId !== b.releaseId) return a.releaseId < b.releaseId ? -1 : 1;
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  return a.windowStart - b.windowStart;
}

/**
 * Writes `source`'s windows, replacing what it reported before under the same keys: one
 * multi-row insert-or-update per UPSERT_ROWS windows (`excluded` is the row proposed for
 * insertion, in SQLite ≥ 3.24 and PostgreSQL alike). Keys must be unique within `windows`.
 */
async function upsertWindows(trx: Kysely<Database>, source: string, windows: readonly MetricWindow[]): Promise<void> {
  for (let i = 0; i < windows.length; i += UPSERT_ROWS) {
    const rows = windows.slice(i, i + UPSERT_ROWS).map((w) => metricWindowRow(w, source));
    await trx
      .insertInto('metric_windows')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['release_id', 'version', 'window_start', 'source']).doUpdateSet((eb) => ({
          window_ms: eb.ref('excluded.window_ms'),
          requests: eb.ref('excluded.requests'),
          errors: eb.ref('excluded.errors'),
          latency: eb.ref('excluded.latency'),
          feedback_sum: eb.ref('excluded.feedback_sum'),
          feedback_count: eb.ref('excluded.feedback_count'),
          gateway_errors: eb.ref('excluded.gateway_errors'),
          error_users: eb.ref('excluded.error_users'),
          latency_sample_rate: eb.ref('excluded.latency_sample_rate'),
        })),
      )
      .execute();
  }
}

/**
 * Adds one window to the additive source's row under its key. Insert-or-nothing first, then
 * lock and add: correct under SQLite's write lock and under PostgreSQL's row locks alike.
 */
async function addToWindow(trx: Kysely<Database>, w: MetricWindow, lock: RowLock | undefined): Promise<void> {
  const inserted = await trx
    .insertInto('metric_windows')
    .values(metricWindowRow(w, ADDITIVE_SOURCE))
    .onConflict((oc) => oc.columns(['release_id', 'version', 'window_start', 'source']).doNothing())
    .returning('release_id')
    .executeTakeFirst();
  if (inserted) return;
  const stored = await withLock(
    trx
      .selectFrom('metric_windows')
      .selectAll()
      .where('release_id', '=', w.releaseId)
      .where('version', '=', w.version)
      .where('window_start', '=', w.windowStart)
      .where('source', '=', ADDITIVE_SOURCE),
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
      latency_sample_rate: sum.latencySampleRate ?? null,
    })
    .where('release_id', '=', w.releaseId)
    .where('version', '=', w.version)
    .where('window_start', '=', w.windowStart)
    .where('source', '=', ADDITIVE_SOURCE)
    .execute();
}

/** Rows in (window start, version) order folded into one window per key: the sources added up. */
function foldSources(windows: readonly MetricWindow[]): MetricWindow[] {
  const out: MetricWindow[] = [];
  for (const w of windows) {
    const last = out.at(-1);
    if (last !== undefined && last.windowStart === w.windowStart && last.version === w.version) out[out.length - 1] = addWindows(last, w);
    else out.push(w);
  }
  return out;
}

/** Evidence methods over the shared runtime. */
export function evidenceOperations(rt: StoreRuntime): EvidenceOperations {
  return {
    appendMetricWindows: async (source, windows) => {
      if (source === ADDITIVE_SOURCE) throw new ValidationError('source', 'a metric window source is a data plane name, never empty');
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
        await upsertWindows(
          trx,
          source,
          batch.filter((w) => known.has(w.releaseId)),
        );
        return { value: undefined };
      });
    },

    listMetricWindows: (releaseId, options = {}) =>
      rt.query(async (db) => {
        const since = options.since;
        const sources = options.sources;
        if (sources !== undefined && sources.length === 0) return [];
        const inRange = db
          .selectFrom('metric_windows')
          .where('release_id', '=', releaseId)
          .$if(since !== undefined, (q) => q.where('window_start', '>=', since ?? 0))
          .$if(sources !== undefined, (q) => q.where('source', 'in', sources ?? []));
        // `limit` counts windows as read (sources added up), not rows: find the last key it admits.
        let last: { window_start: number; version: string } | undefined;
        if (options.limit !== undefined) {
          const limit = Math.max(0, Math.floor(options.limit));
          if (limit === 0) return [];
          const keys = await inRange
            .select(['window_start', 'version'])
            .distinct()
            .orderBy('window_start')
            .orderBy('version')
            .limit(limit)
            .execute();
          if (keys.length === limit) last = keys.at(-1);
        }
        const rows = await inRange
          .selectAll()
          .$if(last !== undefined, (q) =>
            q.where((eb) =>
              eb.or([
                eb('window_start', '<', Number(last?.window_start ?? 0)),
                eb.and([eb('window_start', '=', Number(last?.window_start ?? 0)), eb('version', '<=', last?.version ?? '')]),
              ]),
            ),
          )
          .orderBy('window_start')
          .orderBy('version')
          .orderBy('source')
          .execute();
        return foldSources(rows.map(toMetricWindow));
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
          await addToWindow(trx, w, lockFor(rt, 'no key update'));
        }
        // Audited in aggregate (one event per service, minute and actor), not one event per score.
        await addToFeedbackAudit(trx, lockFor(rt, 'no key update'), feedback, audit);
        return { value: undefined };
      }),
  };
}
