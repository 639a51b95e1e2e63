/**
 * The controller's only way to change a release: a compare-and-set through the store — the
 * change applies only if the release is still in the status and step the caller saw, inside
 * the store's transaction, audited by `system`. Two controllers (or a controller and a person)
 * can therefore never both move one release from the same state.
 */
import type { Logger } from 'pino';
import { ConflictError } from '../core/errors.js';
import type { AuditInput, Release } from '../core/types.js';
import type { Store } from '../store/store.js';

/** A guard failed inside the transaction: someone else moved the release first. */
class StaleRelease extends Error {}

/**
 * Applies `change` only if the release is still where `seen` was; true when written, false when
 * it had moved on (or the move became illegal). @throws the store's other errors.
 */
export type Move = (
  seen: Release,
  action: string,
  reason: string,
  change: (r: Release) => Release,
  detail?: Record<string, unknown> | null,
) => Promise<boolean>;

/** The audit event of a controller move. */
export function systemAudit(release: Release, action: string, reason: string, detail: Record<string, unknown> | null = null): AuditInput {
  return {
    actor: 'system',
    source: null,
    action,
    target: `release/${release.id}`,
    service: release.service,
    outcome: 'success',
    reason,
    detail,
  };
}

/** Creates the compare-and-set mover over `store`. */
export function createMover(store: Store, logger?: Logger): Move {
  return async (seen, action, reason, change, detail = null) => {
    try {
      await store.updateRelease(
        seen.id,
        (current) => {
          if (current.status !== seen.status || current.stepIndex !== seen.stepIndex) throw new StaleRelease();
          return change(current);
        },
        systemAudit(seen, action, reason, detail),
      );
      logger?.info({ release: seen.id, service: seen.service, action, reason }, 'release moved');
      return true;
    } catch (err) {
      if (err instanceof StaleRelease || (err instanceof ConflictError && err.code === 'TERN_ILLEGAL_TRANSITION')) return false;
      throw err;
    }
  };
}
