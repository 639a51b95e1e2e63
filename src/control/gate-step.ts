/**
 * Passing a webhook gate from the runner: collects the gate's hooks (the release's and its
 * service's), asks the gate keeper without waiting, and when the gate has failed for good
 * rolls the release back with the hook and its last answer as the reason.
 */
import { transition } from '../core/release-state.js';
import type { Release } from '../core/types.js';
import { hooksOf } from '../core/webhooks.js';
import type { Store } from '../store/store.js';
import type { Move } from './move.js';
import type { GateKeeper, GateName } from './notify/gates.js';

/** True when the release may pass now; false while it holds (or after it was rolled back). */
export type PassGate = (release: Release, gate: GateName, key: string, toStep: number | null, now: number) => Promise<boolean>;

/** Creates the gate step over the store, the gate keeper and the mover. */
export function createGateStep(store: Store, gates: GateKeeper, move: Move): PassGate {
  return async (release, gate, key, toStep, now) => {
    const service = await store.getService(release.service);
    const hooks = hooksOf(gate, release.webhooks, service?.webhooks);
    if (hooks.length === 0) return true;
    const status = gates.check({ release, gate, key, hooks, toStep });
    switch (status.kind) {
      case 'open':
        return true;
      case 'waiting':
        return false;
      case 'failed':
        await move(release, 'release.rollback', status.reason, (r) => transition(r, 'rolling_back', now, status.reason), { gate });
        return false;
      default: {
        const never: never = status;
        throw new Error(`unknown gate status ${JSON.stringify(never)}`);
      }
    }
  };
}
