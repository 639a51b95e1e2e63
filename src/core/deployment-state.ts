/**
 * The deployment state machine: what a deploy driver started for a release moves through one
 * table of allowed moves, like the release itself (release-state.ts); anything else throws.
 * Pure: takes the current deployment and returns the next one; the store persists it.
 */
import { ConflictError } from './errors.js';
import type { DeployedInstance, Deployment, DeploymentState } from './types.js';

/**
 * Allowed moves; `none` is a release no driver has started anything for yet. `none → failed`:
 * the command could not be started at all. `starting → starting`: a restarted controller stops
 * instances its predecessor left half-started and starts afresh. `starting → retired`: the
 * release ended (e.g. rolled back by hand) before its instances were ready.
 */
export const DEPLOYMENT_TRANSITIONS: Readonly<Record<DeploymentState | 'none', readonly DeploymentState[]>> = {
  none: ['starting', 'failed'],
  starting: ['starting', 'ready', 'failed', 'retired'],
  ready: ['retired'],
  failed: ['retired'],
  retired: [],
};

export function canMoveDeployment(from: DeploymentState | null, to: DeploymentState): boolean {
  return DEPLOYMENT_TRANSITIONS[from ?? 'none'].includes(to);
}

/**
 * The deployment after moving `from` (null: nothing started yet) to `to` with `instances`;
 * `retiredAt` is `now` on retiring, null otherwise.
 * @throws ConflictError (TERN_ILLEGAL_TRANSITION) for a move the table does not allow.
 */
export function moveDeployment(
  from: Deployment | null | undefined,
  to: DeploymentState,
  instances: readonly DeployedInstance[],
  now: number,
): Deployment {
  const state = from?.state ?? null;
  if (!canMoveDeployment(state, to)) {
    const allowed = DEPLOYMENT_TRANSITIONS[state ?? 'none'];
    throw new ConflictError(
      'TERN_ILLEGAL_TRANSITION',
      `a deployment that is ${state ?? 'not started'} cannot move to ${to}` +
        (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it has ended)'),
      { details: { from: state, to, allowed } },
    );
  }
  return { driver: 'process', state: to, instances, retiredAt: to === 'retired' ? now : null };
}
