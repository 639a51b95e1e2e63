/**
 * The release state machine (docs/api.md, "Releases"): one table of allowed moves; anything else throws.
 * Pure: takes a release and returns the next one; the store persists it with its audit event.
 */
import { ConflictError } from './errors.js';
import type { Release, ReleaseStatus } from './types.js';
import { FULL_WEIGHT } from './weight.js';

/** Allowed moves. `failed` is reached only when the canary never became ready. */
export const RELEASE_TRANSITIONS: Readonly<Record<ReleaseStatus, readonly ReleaseStatus[]>> = {
  pending: ['progressing', 'paused', 'promoting', 'rolling_back', 'failed'],
  progressing: ['paused', 'promoting', 'rolling_back'],
  paused: ['progressing', 'promoting', 'rolling_back'],
  promoting: ['promoted', 'rolling_back'],
  promoted: [],
  rolling_back: ['rolled_back'],
  rolled_back: [],
  failed: [],
};

export const FINAL_STATUSES: readonly ReleaseStatus[] = ['promoted', 'rolled_back', 'failed'];
export const ACTIVE_STATUSES: readonly ReleaseStatus[] = ['pending', 'progressing', 'paused', 'promoting', 'rolling_back'];

export function isFinal(status: ReleaseStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export function canMove(from: ReleaseStatus, to: ReleaseStatus): boolean {
  return RELEASE_TRANSITIONS[from].includes(to);
}

/**
 * Moves a release to `to`, stamping time and reason; ending states set `endedAt`.
 * @throws ConflictError (TERN_ILLEGAL_TRANSITION) for a move the table does not allow.
 */
export function transition(release: Release, to: ReleaseStatus, now: number, reason: string | null = null): Release {
  if (!canMove(release.status, to)) {
    const allowed = RELEASE_TRANSITIONS[release.status];
    throw new ConflictError(
      'TERN_ILLEGAL_TRANSITION',
      `release ${release.id} is ${release.status}; it cannot move to ${to}` +
        (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it has ended)'),
      { details: { from: release.status, to, allowed } },
    );
  }
  const weight =
    to === 'rolling_back' || to === 'rolled_back' || to === 'failed'
      ? 0
      : to === 'promoted' || to === 'promoting'
        ? FULL_WEIGHT
        : release.weight;
  return {
    ...release,
    status: to,
    weight,
    updatedAt: now,
    reason: reason ?? release.reason,
    endedAt: isFinal(to) ? now : release.endedAt,
  };
}

/**
 * Sets the canary weight by hand (basis points). Only while progressing or paused; a manual
 * weight pauses automatic stepping so the controller does not override the operator.
 * @throws ConflictError (TERN_ILLEGAL_TRANSITION) when the release is in any other state.
 */
export function setWeight(release: Release, weight: number, now: number, reason: string | null = null): Release {
  if (release.status !== 'progressing' && release.status !== 'paused' && release.status !== 'pending') {
    throw new ConflictError(
      'TERN_ILLEGAL_TRANSITION',
      `release ${release.id} is ${release.status}; its weight can be set only while pending, progressing or paused`,
      {
        details: { from: release.status },
      },
    );
  }
  const paused = release.status === 'paused' ? release : transition(release, 'paused', now, reason);
  return { ...paused, weight, updatedAt: now, reason: reason ?? paused.reason };
}
