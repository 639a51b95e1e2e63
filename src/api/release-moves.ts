/**
 * What the release action routes do to a release, as pure functions for `store.updateRelease`.
 * Interim semantics until the controller issue drives traffic itself: promote advances a step
 * (or finishes), rollback ends at once, pause/resume flip the status. Illegal moves throw
 * (TERN_ILLEGAL_TRANSITION) from the core state machine, and the store then writes nothing.
 */
import { ConflictError } from '../core/errors.js';
import { transition } from '../core/release-state.js';
import type { Release } from '../core/types.js';

export type ReleaseAction = 'promote' | 'rollback' | 'pause' | 'resume';

/**
 * Promote: to the first step whose weight is above the current weight (so a hand-set weight
 * is never lowered and no canary user moves back), or — with `full`, or when no such step
 * remains — through `promoting` to `promoted`, which makes the canary the stable version.
 * @throws ConflictError TERN_ILLEGAL_TRANSITION from a state that cannot move on.
 */
export function promote(r: Release, now: number, reason: string | null, full: boolean): Release {
  const next = full ? -1 : r.steps.findIndex((s, i) => i >= r.stepIndex && s.weight > r.weight);
  if (next < 0) return transition(transition(r, 'promoting', now, reason), 'promoted', now, reason);
  if (r.status !== 'progressing' && r.status !== 'paused' && r.status !== 'pending') {
    throw new ConflictError(
      'TERN_ILLEGAL_TRANSITION',
      `release ${r.id} is ${r.status}; only a pending, progressing or paused release moves to its next step`,
      {
        details: { from: r.status },
      },
    );
  }
  const moved = r.status === 'pending' ? transition(r, 'progressing', now, reason) : r;
  const step = r.steps[next]!;
  return { ...moved, stepIndex: next, weight: step.weight, stepStartedAt: now, updatedAt: now, reason: reason ?? moved.reason };
}

/** Rollback: through `rolling_back` to `rolled_back`; weight 0. @throws ConflictError from a final state. */
export function rollback(r: Release, now: number, reason: string | null): Release {
  return transition(transition(r, 'rolling_back', now, reason), 'rolled_back', now, reason);
}

/**
 * Resume: back to progressing. A step whose weight the data planes have not applied yet gets
 * a fresh apply deadline (its wait restarts now), so a release paused for an overdue data
 * plane is not paused again at once.
 */
export function resume(r: Release, now: number, reason: string | null): Release {
  const resumed = transition(r, 'progressing', now, reason);
  return r.stepAppliedAt === null ? { ...resumed, stepStartedAt: now } : resumed;
}

/** Applies a named action. @throws ConflictError TERN_ILLEGAL_TRANSITION. */
export function applyAction(action: ReleaseAction, r: Release, now: number, reason: string | null, full = false): Release {
  switch (action) {
    case 'promote':
      return promote(r, now, reason, full);
    case 'rollback':
      return rollback(r, now, reason);
    case 'pause':
      return transition(r, 'paused', now, reason);
    case 'resume':
      return resume(r, now, reason);
    default: {
      const never: never = action;
      throw new Error(`unknown release action ${String(never)}`);
    }
  }
}
