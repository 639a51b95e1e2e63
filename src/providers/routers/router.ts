/**
 * The Router provider interface (docs/data-planes.md, "The Router interface"): what every data plane — Tern's built-in gateway,
 * HAProxy through `tern agent haproxy`, NGINX through `tern agent nginx` — offers the
 * reconciler that drives it. Only the reconciler calls `apply`; nothing else writes to a data
 * plane. A router reports the routing version it executes, which the reconciler sends to the
 * control plane (`POST /api/v1/dataplane/status`), where a step's hold waits for it.
 */
import type { DataPlaneKind, RouterFeatures } from '../../core/data-plane.js';
import type { RouteEntry, RoutingTable } from '../../core/types.js';

export type { DataPlaneKind, RouterFeatures } from '../../core/data-plane.js';

export interface Router {
  readonly kind: DataPlaneKind;
  readonly features: RouterFeatures;
  /**
   * Makes the data plane execute `table`; resolves once requests are routed by it (the applied
   * version moves to `table.version`). Rejects, leaving the previous table in force, when the
   * table cannot be executed (a feature it lacks, a proxy that refused the change).
   */
  apply(table: RoutingTable): Promise<void>;
  /** The routing version the data plane executes now; 0 before any table. */
  appliedVersion(): number;
  /** Stops driving the data plane; the proxy keeps serving the last table (fail static). */
  close(): Promise<void>;
}

/**
 * What a route needs that `features` lacks, in words for an error message; empty when the
 * data plane can execute it. Pure, so the API can check a service before it is stored.
 */
export function missingFeatures(
  route: Pick<RouteEntry, 'rules'> & { readonly canary?: RouteEntry['canary'] },
  features: RouterFeatures,
): string[] {
  const missing: string[] = [];
  if (!features.regexRules && route.rules.some((r) => r.regex !== undefined)) missing.push('regex match rules');
  if (!features.equalsRules && route.rules.some((r) => r.equals !== undefined)) missing.push('equals match rules');
  const hash = (route.canary as { readonly bucketHash?: string } | null | undefined)?.bucketHash;
  if (hash !== undefined && !features.bucketHashes.includes(hash))
    missing.push(`the ${hash} sticky bucket of a release started before the upgrade`);
  return missing;
}
