/**
 * Store methods for analysis verdicts. A judge may look every second; most looks are
 * inconclusive, so a run of inconclusive verdicts on one step keeps only its latest row,
 * while every pass and fail (what a release's fate was decided on) is kept.
 */
import type { Store } from '../store.js';
import { findRelease, lockFor, pageSize, releaseNotFound } from './queries.js';
import { toVerdict, verdictRow } from './rows.js';
import type { StoreRuntime } from './runtime.js';

type VerdictOperations = Pick<Store, 'recordVerdict' | 'listVerdicts'>;

/** Verdict methods over the shared runtime. */
export function verdictOperations(rt: StoreRuntime): VerdictOperations {
  return {
    recordVerdict: (verdict) =>
      rt.write(async (trx) => {
        // Verdict writers of one release serialize on its row, so two racing inconclusive looks
        // cannot both keep their predecessor; metric ingestion (key share) is not held up.
        if (!(await findRelease(trx, verdict.releaseId, lockFor(rt, 'no key update')))) throw releaseNotFound(verdict.releaseId);
        if (verdict.outcome === 'inconclusive') {
          const previous = await trx
            .selectFrom('analysis_verdicts')
            .select(['id', 'outcome'])
            .where('release_id', '=', verdict.releaseId)
            .where('step_index', '=', verdict.stepIndex)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
          if (previous?.outcome === 'inconclusive') await trx.deleteFrom('analysis_verdicts').where('id', '=', previous.id).execute();
        }
        await trx.insertInto('analysis_verdicts').values(verdictRow(verdict)).execute();
        return { value: undefined };
      }),

    listVerdicts: (releaseId, options = {}) =>
      rt.query(async (db) => {
        const rows = await db
          .selectFrom('analysis_verdicts')
          .selectAll()
          .where('release_id', '=', releaseId)
          .orderBy('at', 'desc')
          .orderBy('id', 'desc')
          .limit(pageSize(options.limit))
          .execute();
        return rows.map(toVerdict);
      }),
  };
}
