/**
 * Passing a webhook gate from the runner: collects the gate's hooks (the release's and its
 * service's) and asks the gate keeper without waiting. While a hook says no, the release's
 * reason says which gate holds it, how (a refusal or an outage) and since when — written, and
 * audited as `release.gate`, each time that sentence changes. When outages reach the hook's
 * `maxFailures` the release rolls back with the hook and its last answer as the reason.
 */
import { gateFailedText, gateHoldText, isoSeconds, type GateHold } from '../core/gate-hold.js';
import { transition } from '../core/release-state.js';
import type { Release } from '../core/types.js';
import { hooksOf } from '../core/webhooks.js';
import type { Store } from '../store/store.js';
import type { Move } from './move.js';
import type { GateKeeper, GateName } from './notify/gates.js';

/** True when the release may pass now; false while it holds (or after it was rolled back). */
export type PassGate = (release: Release, gate: GateName, key: string, toStep: number | null, now: number) => Promise<boolean>;

/** The audit detail of a hold: what a dashboard or a pipeline reads instead of parsing the reason. */
export function holdDetail(hold: GateHold): Record<string, unknown> {
  return { ...hold, since: isoSeconds(hold.since) };
}

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
      case 'held': {
        const text = gateHoldText(status.hold);
        if (release.reason !== text) await move(release, 'release.gate', text, (r) => ({ ...r, reason: text }), holdDetail(status.hold));
        return false;
      }
      case 'failed': {
        const reason = gateFailedText(status.hold);
        await move(release, 'release.rollback', reason, (r) => transition(r, 'rolling_back', now, reason), {
          gate,
          hold: holdDetail(status.hold),
        });
        return false;
      }
      default: {
        const never: never = status;
        throw new Error(`unknown gate status ${JSON.stringify(never)}`);
      }
    }
  };
}
