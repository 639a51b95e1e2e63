/**
 * What the data planes can execute, checked where a service is configured: a live data plane
 * carrying the service that lacks a feature its rules need refuses the change (never
 * silently ignored), and the registry lists, per data plane, the services it cannot run.
 */
import { carries, liveCarriers, type DataPlane } from '../core/data-plane.js';
import { DataPlaneUnsupportedError } from '../core/errors.js';
import type { RouteEntry, RoutingTable } from '../core/types.js';
import { missingFeatures } from '../providers/routers/router.js';
import type { Store } from '../store/store.js';

type RouteNeeds = Parameters<typeof missingFeatures>[0];

/** The services `dp` carries whose routes it cannot execute, with what it lacks. */
export function unsupportedServices(dp: DataPlane, table: RoutingTable): { service: string; missing: string[] }[] {
  return table.routes
    .filter((route) => carries(dp, route.service))
    .map((route) => ({ service: route.service, missing: missingFeatures(route, dp.features) }))
    .filter((u) => u.missing.length > 0);
}

/**
 * Refuses a service configuration a live data plane carrying it cannot execute.
 * @throws DataPlaneUnsupportedError TERN_DATAPLANE_UNSUPPORTED naming the data plane and the missing feature(s)
 */
export async function assertExecutable(store: Store, service: string, route: RouteNeeds, now: number): Promise<void> {
  for (const dp of liveCarriers(await store.listDataPlanes(), service, now)) {
    const missing = missingFeatures(route, dp.features);
    if (missing.length === 0) continue;
    throw new DataPlaneUnsupportedError(
      `service ${service}: data plane ${dp.name} (${dp.kind}) carries it but cannot execute ${missing.join(' or ')}; ` +
        'change the configuration, or carry the service on a data plane that can',
      { details: { service, dataPlane: dp.name, kind: dp.kind, missing } },
    );
  }
}

/** The route a service would have with `rules`, keeping its current canary (whose bucket hash matters). */
export function withRules(current: RouteEntry | undefined, rules: RouteEntry['rules']): RouteNeeds {
  return { rules, canary: current?.canary ?? null };
}
