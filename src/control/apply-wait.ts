/**
 * A step's wait for its data planes: the hold starts only once every live data
 * plane carrying the service reports the routing version written with the step's weight.
 * While it waits the release says for whom (its reason, written when that changes); once all
 * have confirmed the applied time is stored (and audited, so the timeline and replay see it);
 * a data plane that has not confirmed within the deadline pauses the release with a reason
 * naming it, the weight and the version.
 */
import { applyState, weightAtVersion } from '../core/data-plane.js';
import { transition } from '../core/release-state.js';
import type { Release } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { Move } from './move.js';

/** True once the current step's weight is applied (its hold runs); false while it waits or after it paused. */
export type AwaitApplied = (release: Release, now: number) => Promise<boolean>;

/** Creates the wait over the store's data-plane registry; `timeoutMs` is the apply deadline. */
export function createApplyWait(store: Store, move: Move, timeoutMs: number): AwaitApplied {
  return async (release, now) => {
    // Undefined: a release the store did not track (older code paths) counts as applied at its step start.
    if (release.stepAppliedAt !== null) return true;
    // The deadline runs from the step's write, or from a resume (which restarts it).
    const state = applyState(release, await store.listDataPlanes(), now, release.stepStartedAt, timeoutMs);
    const detail = {
      stepIndex: release.stepIndex,
      weight: release.weight / 100,
      routingVersion: release.routingVersion ?? 0,
    };
    switch (state.kind) {
      case 'applied':
        await move(release, 'release.applied', state.reason, (r) => ({ ...r, stepAppliedAt: now, reason: state.reason }), {
          ...detail,
          appliedAt: now,
          dataPlanes: state.by,
        });
        return false; // judged from the next tick on, with the stored applied time
      case 'waiting':
        if (release.reason !== state.reason) {
          await move(release, 'release.waiting', state.reason, (r) => ({ ...r, reason: state.reason }), {
            ...detail,
            dataPlanes: state.pending,
          });
        }
        return false;
      case 'overdue':
        await move(release, 'release.pause', state.reason, (r) => transition(r, 'paused', now, state.reason), {
          ...detail,
          dataPlanes: state.pending,
          cause: `not applied: ${weightAtVersion(release)}`,
        });
        return false;
      default: {
        const never: never = state;
        throw new Error(`unknown apply state ${JSON.stringify(never)}`);
      }
    }
  };
}
