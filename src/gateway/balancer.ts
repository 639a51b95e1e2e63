/**
 * From a split decision to an endpoint: round-robin over the version's available endpoints
 * (actively healthy, not ejected). When the canary has no available endpoint at all, its
 * users are served by stable and the fallback is counted, because a broken canary must cost
 * users nothing; stable with no available endpoint is a 503 for the caller to answer.
 */
import { isAvailable, type Endpoint } from './endpoints.js';
import type { CompiledRoute, CompiledVersion } from './route-table.js';
import type { Target } from './split.js';

/** Where one request goes. `endpoint` is null when its version has no available endpoint. */
export interface Placement {
  readonly route: CompiledRoute;
  /** The version that serves (stable after a canary fallback). */
  readonly served: Target;
  readonly version: CompiledVersion;
  /** The release the traffic counts toward (the canary's, for stable traffic too), or null. */
  readonly releaseId: string | null;
  readonly endpoint: Endpoint | null;
  /** True when a canary user was moved to stable because no canary endpoint was available. */
  readonly fellBack: boolean;
}

/** The next available endpoint of `version` other than `exclude`, round-robin; null when none. */
export function pickEndpoint(version: CompiledVersion, now: number, exclude: Endpoint | null = null): Endpoint | null {
  const list = version.endpoints;
  const n = list.length;
  for (let i = 0; i < n; i++) {
    const candidate = list[(version.cursor + i) % n]!;
    if (candidate === exclude || !isAvailable(candidate, now)) continue;
    version.cursor = (version.cursor + i + 1) % n;
    return candidate;
  }
  return null;
}

/** Places a request decided for `target` on `route`. */
export function place(route: CompiledRoute, target: Target, now: number): Placement {
  const releaseId = route.canary?.releaseId ?? null;
  if (target === 'canary' && route.canary !== null) {
    const endpoint = pickEndpoint(route.canary, now);
    if (endpoint !== null) return { route, served: 'canary', version: route.canary, releaseId, endpoint, fellBack: false };
    return { route, served: 'stable', version: route.stable, releaseId, endpoint: pickEndpoint(route.stable, now), fellBack: true };
  }
  return { route, served: 'stable', version: route.stable, releaseId, endpoint: pickEndpoint(route.stable, now), fellBack: false };
}
