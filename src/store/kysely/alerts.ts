/**
 * Store methods for alerts: a metric over its limit for a release. Raising is one atomic
 * upsert against the one-open-alert-per-(release, metric) index (migration 3), so repeated
 * or concurrent raises, from one controller or several, keep a single open alert.
 */
import type { Store } from '../store.js';
import { findRelease, lockFor, releaseNotFound } from './queries.js';
import { toAlert } from './rows.js';
import type { StoreRuntime } from './runtime.js';

type AlertOperations = Pick<Store, 'listAlerts' | 'raiseAlert' | 'resolveAlert'>;

/** Alert methods over the shared runtime. */
export function alertOperations(rt: StoreRuntime): AlertOperations {
  return {
    listAlerts: (releaseId) =>
      rt.query(async (db) =>
        (await db.selectFrom('alerts').selectAll().where('release_id', '=', releaseId).orderBy('triggered_at').orderBy('id').execute()).map(
          toAlert,
        ),
      ),

    raiseAlert: (input) =>
      rt.write(async (trx) => {
        // Key-share locked: the release cannot be deleted under the alert we add to it.
        if (!(await findRelease(trx, input.releaseId, lockFor(rt, 'key share')))) throw releaseNotFound(input.releaseId);
        const row = await trx
          .insertInto('alerts')
          .values({
            release_id: input.releaseId,
            metric: input.metric,
            threshold: input.threshold,
            observed: input.observed,
            triggered_at: input.at,
            resolved_at: null,
          })
          .onConflict((oc) =>
            oc
              .columns(['release_id', 'metric'])
              .where('resolved_at', 'is', null)
              .doUpdateSet((eb) => ({ observed: eb.ref('excluded.observed') })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return { value: toAlert(row) };
      }),

    resolveAlert: async (releaseId, metric, at) => {
      await rt.query((db) =>
        db
          .updateTable('alerts')
          .set({ resolved_at: at })
          .where('release_id', '=', releaseId)
          .where('metric', '=', metric)
          .where('resolved_at', 'is', null)
          .execute(),
      );
    },
  };
}
