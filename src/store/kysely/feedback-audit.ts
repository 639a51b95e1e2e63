/**
 * Aggregated audit of accepted feedback: a busy service gets thousands of scores a
 * minute, and one audit event each would drown the log. Each accepted score is added, in the
 * transaction that stores the score, to an open bucket keyed by (service, minute, actor); once
 * the minute is over, `flushFeedbackAudit` turns each bucket into one append-only audit event
 * (`feedback.submitted`, detail: count, sum, mean, per version, releases, sources) and deletes
 * it, in one transaction per bucket. Nothing is lost on a crash — the buckets are durable and
 * the next flush, by any process sharing the database, writes them — and however many API
 * processes accept scores, one event per bucket is written.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditInput, Feedback } from '../../core/types.js';
import type { Store } from '../store.js';
import { recordChange, withLock } from './queries.js';
import type { RowLock } from './queries.js';
import { toJson } from './rows.js';
import type { StoreRuntime } from './runtime.js';
import type { Database, FeedbackAuditTable } from './schema.js';

export const FEEDBACK_AUDIT_MINUTE_MS = 60_000;
/** Distinct client addresses kept per bucket; more are counted, not listed. */
const MAX_SOURCES = 10;
/** Attempts at adding to a bucket that a concurrent flush keeps deleting under us. */
const MAX_ATTEMPTS = 3;

interface Tally {
  count: number;
  sum: number;
  byVersion: Record<string, { count: number; sum: number }>;
  /** Scores whose version could not be told (no version, no user key during a release). */
  unattributed: { count: number; sum: number };
  releases: string[];
  sources: string[];
  sourcesOmitted: number;
}

/** The start (epoch ms) of the minute `at` falls in. */
export function minuteOf(at: number): number {
  return Math.floor(at / FEEDBACK_AUDIT_MINUTE_MS) * FEEDBACK_AUDIT_MINUTE_MS;
}

function tallyOf(feedback: Feedback, source: string | null): Tally {
  const one = { count: 1, sum: feedback.score };
  return {
    ...one,
    byVersion: feedback.version === null ? {} : { [feedback.version]: one },
    unattributed: feedback.version === null ? one : { count: 0, sum: 0 },
    releases: feedback.releaseId === null ? [] : [feedback.releaseId],
    sources: source === null ? [] : [source],
    sourcesOmitted: 0,
  };
}

function addCounts(a: { count: number; sum: number } | undefined, b: { count: number; sum: number }): { count: number; sum: number } {
  return { count: (a?.count ?? 0) + b.count, sum: (a?.sum ?? 0) + b.sum };
}

function mergeTally(a: Tally, b: Tally): Tally {
  const byVersion = { ...a.byVersion };
  for (const [version, counts] of Object.entries(b.byVersion)) byVersion[version] = addCounts(byVersion[version], counts);
  const newSources = b.sources.filter((s) => !a.sources.includes(s));
  const room = Math.max(0, MAX_SOURCES - a.sources.length);
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    byVersion,
    unattributed: addCounts(a.unattributed, b.unattributed),
    releases: [...new Set([...a.releases, ...b.releases])],
    sources: [...a.sources, ...newSources.slice(0, room)],
    sourcesOmitted: a.sourcesOmitted + b.sourcesOmitted + Math.max(0, newSources.length - room),
  };
}

const mean = (c: { count: number; sum: number }): number | null => (c.count === 0 ? null : Math.round((c.sum / c.count) * 1000) / 1000);

/** The audit event a closed bucket becomes. */
function bucketEvent(row: Selectable<FeedbackAuditTable>): AuditInput {
  const tally = JSON.parse(row.tally) as Tally;
  const minute = Number(row.minute);
  const versions = Object.entries(tally.byVersion).map(([v, c]) => `${v}: ${c.count}, mean ${mean(c)}`);
  if (tally.unattributed.count > 0) versions.push(`no version: ${tally.unattributed.count}`);
  return {
    at: Number(row.last_at),
    actor: row.actor,
    source: tally.sources[0] ?? null,
    action: row.action,
    target: row.target,
    service: row.service,
    outcome: 'success',
    reason: `${tally.count} feedback score${tally.count === 1 ? '' : 's'}, mean ${mean(tally)} (${versions.join('; ')})`,
    detail: {
      from: new Date(minute).toISOString(),
      to: new Date(minute + FEEDBACK_AUDIT_MINUTE_MS).toISOString(),
      count: tally.count,
      sum: tally.sum,
      mean: mean(tally),
      byVersion: Object.fromEntries(Object.entries(tally.byVersion).map(([v, c]) => [v, { ...c, mean: mean(c) }])),
      unattributed: tally.unattributed,
      releases: tally.releases,
      sources: tally.sources,
      sourcesOmitted: tally.sourcesOmitted,
    },
  };
}

/**
 * Adds one accepted score to its (service, minute, actor) bucket, in the caller's transaction.
 * Insert-or-nothing, then lock and add (as metric windows merge); when a flush deleted the
 * bucket between the two, the insert is tried again.
 */
export async function addToFeedbackAudit(
  trx: Kysely<Database>,
  lock: RowLock | undefined,
  feedback: Feedback,
  audit: AuditInput,
): Promise<void> {
  const key = { service: feedback.service, minute: minuteOf(feedback.at), actor: audit.actor };
  const tally = tallyOf(feedback, audit.source);
  for (let attempt = 1; ; attempt++) {
    const inserted = await trx
      .insertInto('feedback_audit')
      .values({ ...key, action: audit.action, target: audit.target, first_at: feedback.at, last_at: feedback.at, tally: toJson(tally) })
      .onConflict((oc) => oc.columns(['service', 'minute', 'actor']).doNothing())
      .returning('service')
      .executeTakeFirst();
    if (inserted) return;
    const stored = await withLock(
      trx
        .selectFrom('feedback_audit')
        .selectAll()
        .where('service', '=', key.service)
        .where('minute', '=', key.minute)
        .where('actor', '=', key.actor),
      lock,
    ).executeTakeFirst();
    if (!stored) {
      if (attempt < MAX_ATTEMPTS) continue;
      throw new Error(`feedback audit bucket ${key.service}/${key.minute}/${key.actor} vanished ${MAX_ATTEMPTS} times`);
    }
    await trx
      .updateTable('feedback_audit')
      .set({
        first_at: Math.min(Number(stored.first_at), feedback.at),
        last_at: Math.max(Number(stored.last_at), feedback.at),
        tally: toJson(mergeTally(JSON.parse(stored.tally) as Tally, tally)),
      })
      .where('service', '=', key.service)
      .where('minute', '=', key.minute)
      .where('actor', '=', key.actor)
      .execute();
    return;
  }
}

/** The flush method over the shared runtime. */
export function feedbackAuditOperations(rt: StoreRuntime): Pick<Store, 'flushFeedbackAudit'> {
  return {
    flushFeedbackAudit: async (closedBy) => {
      const lastMinute = Math.min(closedBy, Number.MAX_SAFE_INTEGER) - FEEDBACK_AUDIT_MINUTE_MS;
      const due = await rt.query((db) =>
        db
          .selectFrom('feedback_audit')
          .select(['service', 'minute', 'actor'])
          .where('minute', '<=', lastMinute)
          .orderBy('minute')
          .orderBy('service')
          .orderBy('actor')
          .execute(),
      );
      let written = 0;
      // One transaction per bucket: each event is published like any other change, and a flush
      // racing another process's flush writes each bucket once (the delete that finds it wins).
      for (const key of due) {
        written += await rt.write(async (trx) => {
          const row = await trx
            .deleteFrom('feedback_audit')
            .where('service', '=', key.service)
            .where('minute', '=', key.minute)
            .where('actor', '=', key.actor)
            .returningAll()
            .executeTakeFirst();
          if (!row) return { value: 0 };
          const change = await recordChange(trx, rt, {
            kind: 'service',
            id: row.service,
            service: row.service,
            audit: bucketEvent(row),
            routing: false,
          });
          return { value: 1, change };
        });
      }
      return written;
    },
  };
}
