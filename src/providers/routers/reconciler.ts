/**
 * The reconciler (docs/data-planes.md): the one thing that writes to a data plane. It watches the
 * control plane's routing table (the gateway's watch loop: long-poll, backoff with jitter,
 * several control planes in turn, fail static) and hands every newer table to its Router;
 * it pushes the windows of the data plane's MetricSource back, and reports the routing version
 * the Router executes (`POST /api/v1/dataplane/status`) after every applied table, every 5 s
 * and, with `leaving: true`, on stop().
 */
import type { Logger } from 'pino';
import { startSync, type SyncHandle } from '../../gateway/sync.js';
import type { ServerTrust } from '../../net/tls.js';
import type { MetricSource } from '../metrics/source.js';
import type { Router } from './router.js';

export interface ReconcilerOptions {
  readonly router: Router;
  /** Evidence of the data plane; none when it delivers no evidence. */
  readonly source?: MetricSource;
  /** Control-plane URL(s) and the `gateway`-role token. */
  readonly url: string | readonly string[];
  readonly token: string;
  /** This data plane's name: the key of its status and of its metric windows. */
  readonly dataPlane: string;
  /** The services this data plane carries (its status report says so); absent: every service. */
  readonly services?: readonly string[];
  /** Status heartbeat, ms (default 5000). */
  readonly statusIntervalMs?: number;
  readonly logger: Logger;
  readonly trust?: ServerTrust;
  readonly waitSeconds?: number;
  readonly pushIntervalMs?: number;
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
}

/** Starts watching and pushing; `stop()` leaves the data plane serving its last table. */
export function startReconciler(opts: ReconcilerOptions): SyncHandle {
  const { router, source } = opts;
  return startSync({
    url: opts.url,
    token: opts.token,
    gatewayId: opts.dataPlane,
    logger: opts.logger,
    currentVersion: () => router.appliedVersion(),
    apply: (table) => router.apply(table),
    drainWindows: () => source?.drainWindows(Date.now()) ?? [],
    drainEvents: () => [],
    status: {
      dataPlane: opts.dataPlane,
      kind: router.kind,
      features: router.features,
      services: opts.services ?? null,
      ...(opts.statusIntervalMs === undefined ? {} : { intervalMs: opts.statusIntervalMs }),
    },
    ...(opts.trust === undefined ? {} : { trust: opts.trust }),
    ...(opts.waitSeconds === undefined ? {} : { waitSeconds: opts.waitSeconds }),
    ...(opts.pushIntervalMs === undefined ? {} : { pushIntervalMs: opts.pushIntervalMs }),
    ...(opts.backoff === undefined ? {} : { backoff: opts.backoff }),
  });
}
