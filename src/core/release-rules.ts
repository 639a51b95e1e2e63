/**
 * What a release becomes, as pure rules (compute, then persist): the operator's
 * actions (promote, rollback, pause, resume), how any proposed change is settled into the
 * release that will be stored (identity kept, step clock, applied time), and the effects the
 * store must persist with it (a routing bump, the canary made stable, alerts closed). The
 * store only writes what these return; the API and the controller call them.
 */
import { ConflictError } from './errors.js';
import { isFinal, transition } from './release-state.js';
import type { Release } from './types.js';

export type ReleaseAction = 'promote' | 'rollback' | 'pause' | 'resume';

/** What the store must do besides writing the release. */
export interface ReleaseEffects {
  /** What the data plane executes changed: bump the routing version (and record it on the release when `usersMoved`). */
  readonly routing: boolean;
  /** Weight, step, endpoints or the start changed: the data planes must apply the release again. */
  readonly usersMoved: boolean;
  /** The release just ended promoted: the canary becomes the service's stable version. */
  readonly promoted: boolean;
  /** The release just ended: its open alerts close with it. */
  readonly ended: boolean;
}

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

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Weight, step, endpoints or the start changed: what users see moved. */
export function usersMoved(a: Release, b: Release): boolean {
  const started = a.status === 'pending' && b.status !== 'pending';
  return started || a.weight !== b.weight || a.stepIndex !== b.stepIndex || !sameList(a.endpoints, b.endpoints);
}

/**
 * The release as it will be stored: identity fields stay as they were (a change may not move
 * a release to another service or version, nor re-split its users with another salt or bucket
 * hash), `stepStartedAt` restarts when the step changes
 * (a change may also restart it on purpose, e.g. when a pending release starts its first step),
 * and `updatedAt` moves on every write.
 */
export function settle(current: Release, proposed: Release, now: number): Release {
  const { id, service, version, baseline, salt, bucketHash, createdBy, startedAt } = current;
  return {
    ...proposed,
    id,
    service,
    version,
    baseline,
    salt,
    bucketHash,
    createdBy,
    startedAt,
    stepStartedAt: proposed.stepIndex !== current.stepIndex ? now : proposed.stepStartedAt,
    updatedAt: proposed.updatedAt !== current.updatedAt ? proposed.updatedAt : now,
  };
}

/** The effects of going from `current` to `next` (both as stored). */
export function effectsOf(current: Release, next: Release): ReleaseEffects {
  const promoted = next.status === 'promoted' && current.status !== 'promoted';
  const moved = usersMoved(current, next);
  return {
    routing: promoted || moved || current.status !== next.status,
    usersMoved: moved,
    promoted,
    ended: isFinal(next.status) && !isFinal(current.status),
  };
}

/**
 * When a written weight counts as applied: null while some live data plane carrying the
 * service must still confirm it (the controller waits) — or, with none live, at the write: the
 * step's start for a new step, else the applied time it had (a hand-set weight does not restart
 * a hold). `current` is null for a release being created.
 */
export function appliedAtWrite(current: Release | null, next: Release, liveCarriers: number): number | null {
  if (liveCarriers > 0) return null;
  const sameStep = current !== null && current.status !== 'pending' && current.stepIndex === next.stepIndex;
  return sameStep ? (current.stepAppliedAt ?? next.stepStartedAt) : next.stepStartedAt;
}

/**
 * The next release and its effects, from the current one, the caller's proposed change and
 * `now`; `liveCarriers` is how many live data planes carry the service (they must confirm a
 * moved weight). The store records the routing version once it has bumped it.
 */
export function nextRelease(
  current: Release,
  proposed: Release,
  now: number,
  liveCarriers: number,
): { readonly release: Release; readonly effects: ReleaseEffects } {
  const settled = settle(current, proposed, now);
  const effects = effectsOf(current, settled);
  if (!effects.usersMoved) return { release: settled, effects };
  return { release: { ...settled, stepAppliedAt: appliedAtWrite(current, settled, liveCarriers) }, effects };
}
