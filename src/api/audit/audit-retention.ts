/**
 * Audit retention (`tern server --audit-retention 90d`; default keep forever): once an hour
 * (and at start) deletes audit events older than the retention that a complete export has
 * already covered (the store's export mark; audit-export.ts). An event nobody exported is never
 * pruned, however old: the database refuses that delete too (migration 6).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../core/types.js';
import type { Store } from '../../store/store.js';

export const PRUNE_EVERY_MS = 60 * 60_000;

export interface AuditPruner {
  /** Runs one pruning pass now; resolves with the number of events deleted. */
  pruneNow(): Promise<number>;
  stop(): void;
}

/** Starts pruning. @throws RangeError when `retentionMs` is not a positive integer. */
export function startAuditPruner(options: {
  readonly store: Pick<Store, 'pruneAudit'>;
  readonly retentionMs: number;
  readonly clock: Clock;
  readonly logger?: FastifyBaseLogger;
  readonly everyMs?: number;
}): AuditPruner {
  const { store, retentionMs, clock, logger } = options;
  if (!Number.isInteger(retentionMs) || retentionMs < 1)
    throw new RangeError(`audit retention must be a positive number of ms, got ${retentionMs}`);
  const pruneNow = async () => {
    const removed = await store.pruneAudit(clock() - retentionMs);
    if (removed > 0) logger?.info({ removed, retentionMs }, 'pruned exported audit events past the retention');
    return removed;
  };
  const run = () => {
    pruneNow().catch((err: unknown) => logger?.error({ err }, 'audit pruning failed; it will be retried'));
  };
  const timer = setInterval(run, options.everyMs ?? PRUNE_EVERY_MS);
  timer.unref();
  run();
  return { pruneNow, stop: () => clearInterval(timer) };
}
