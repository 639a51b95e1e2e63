/**
 * Tern's health alerts for Alertmanager, from the store's own records (alertmanager.ts posts
 * them):
 * - `TernDataPlaneStale` — a registered data plane (gateway or proxy agent) that stopped
 *   reporting while it carried routing (it had applied a table: it routes with that table, fail
 *   static, and steps no longer wait for it), or that still reports but has lagged the newest
 *   routing version for longer than the apply timeout. Ends when it reports (and catches up) again
 *   or leaves cleanly.
 * - `TernNoControllerLeader` — the controller lease has had no live holder for longer than the
 *   lease TTL plus a margin: no release is judged or moved. Every server reads the lease, leader
 *   or not; Alertmanager dedupes the identical alerts several servers post.
 * Pure: the records and `now` in, the alerts that should be firing out.
 */
import { dataPlaneState, DATA_PLANE_LIVE_MS, type DataPlane } from '../../core/data-plane.js';
import type { LeaseState } from '../../store/store.js';
import type { PostableAlert } from './postable-alert.js';

/** When a live data plane was first seen behind the newest routing version, by data-plane name. */
export type LagSince = Map<string, number>;

function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}

/**
 * The `TernDataPlaneStale` alerts that should be firing, keyed by identity. `lagSince` is
 * updated in place: a live data plane behind `routingVersion` is remembered from the first time
 * it is seen so, and forgotten once it catches up, goes stale or leaves.
 */
export function dataPlaneAlerts(
  dataPlanes: readonly DataPlane[],
  routingVersion: number,
  now: number,
  applyTimeoutMs: number,
  lagSince: LagSince,
  dashboard: string,
): Map<string, PostableAlert> {
  const alerts = new Map<string, PostableAlert>();
  const names = new Set(dataPlanes.map((dp) => dp.name));
  for (const name of lagSince.keys()) if (!names.has(name)) lagSince.delete(name);
  for (const dp of dataPlanes) {
    const state = dataPlaneState(dp, now);
    const lagging = state === 'live' && dp.appliedVersion < routingVersion;
    if (!lagging) lagSince.delete(dp.name);
    else if (!lagSince.has(dp.name)) lagSince.set(dp.name, now);
    const labels = {
      alertname: 'TernDataPlaneStale',
      dataplane: dp.name,
      kind: dp.kind,
      services: dp.services === null ? '*' : [...dp.services].sort().join(','),
      severity: 'critical',
    };
    if (state === 'stale' && dp.appliedVersion > 0) {
      alerts.set(`dataplane\u0000${dp.name}`, {
        labels,
        annotations: {
          summary: `data plane ${dp.name} (${dp.kind}) stopped reporting`,
          description:
            `no report since ${new Date(dp.lastSeen).toISOString()} (live means one within ${seconds(DATA_PLANE_LIVE_MS)}); ` +
            `it routes with routing version ${dp.appliedVersion} (fail static) and release steps no longer wait for it`,
          dashboard,
        },
        startsAt: new Date(dp.lastSeen + DATA_PLANE_LIVE_MS).toISOString(),
        generatorURL: dashboard,
      });
      continue;
    }
    const since = lagSince.get(dp.name);
    if (since !== undefined && now - since >= applyTimeoutMs) {
      alerts.set(`dataplane\u0000${dp.name}`, {
        labels,
        annotations: {
          summary: `data plane ${dp.name} (${dp.kind}) lags the routing table`,
          description:
            `it reports routing version ${dp.appliedVersion} while the newest is ${routingVersion}, since ${new Date(since).toISOString()} ` +
            `(longer than the apply timeout of ${seconds(applyTimeoutMs)}); release steps carried by it pause`,
          dashboard,
        },
        startsAt: new Date(since).toISOString(),
        generatorURL: dashboard,
      });
    }
  }
  return alerts;
}

/** Since when the lease has had no live holder (kept across polls; null while someone holds it). */
export interface LeaderWatch {
  noHolderSince: number | null;
}

/**
 * The `TernNoControllerLeader` alert, when the lease has had no live holder for at least
 * `ttlMs + marginMs` since it was last renewed (its expiry minus the TTL), or since this server
 * first saw it absent. Updates `watch`.
 */
export function noLeaderAlert(
  lease: LeaseState | undefined,
  now: number,
  ttlMs: number,
  marginMs: number,
  watch: LeaderWatch,
  dashboard: string,
): PostableAlert | undefined {
  if (lease?.live === true) {
    watch.noHolderSince = null;
    return undefined;
  }
  // An expired lease tells when its holder last renewed; a missing one only when we first saw it.
  watch.noHolderSince ??= lease === undefined ? now - ttlMs : lease.expiresAt - ttlMs;
  const since = watch.noHolderSince;
  if (now - since < ttlMs + marginMs) return undefined;
  const last =
    lease === undefined
      ? `no controller has held the lease since at least ${new Date(since + ttlMs).toISOString()}`
      : `controller ${lease.holder} last renewed the lease at ${new Date(since).toISOString()}`;
  return {
    labels: { alertname: 'TernNoControllerLeader', severity: 'critical' },
    annotations: {
      summary: 'No Tern controller is leading',
      description: `${last} (lease TTL ${seconds(ttlMs)}); releases are not being judged or moved`,
      dashboard,
    },
    startsAt: new Date(since + ttlMs).toISOString(),
    generatorURL: dashboard,
  };
}
