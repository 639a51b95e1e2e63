/**
 * The routing table the data plane executes, derived from services and their active release
 * and read as one snapshot, so its version always names exactly its content.
 */
import { ACTIVE_STATUSES } from '../../core/release-state.js';
import type { Release, RouteEntry, Service } from '../../core/types.js';
import type { Store } from '../store.js';
import { readRoutingVersion } from './queries.js';
import { toRelease, toService } from './rows.js';
import type { StoreRuntime } from './runtime.js';

/** One service's route; the canary is its active release (active statuses are never final). */
export function routeEntry(service: Service, active: Release | undefined): RouteEntry {
  return {
    service: service.name,
    match: service.match,
    stickiness: service.stickiness,
    rules: service.rules,
    stable: service.stable,
    canary: active
      ? {
          version: active.version,
          endpoints: active.endpoints,
          weight: active.weight,
          salt: active.salt,
          releaseId: active.id,
          bucketHash: active.bucketHash,
        }
      : null,
  };
}

/** The routing method over the shared runtime. */
export function routingOperations(rt: StoreRuntime): Pick<Store, 'routingTable'> {
  return {
    routingTable: () =>
      rt.snapshot(async (db) => {
        const version = await readRoutingVersion(db);
        const services = (await db.selectFrom('services').selectAll().orderBy('name').execute()).map(toService);
        const active = (await db.selectFrom('releases').selectAll().where('status', 'in', ACTIVE_STATUSES).execute()).map(toRelease);
        const byService = new Map(active.map((r) => [r.service, r]));
        return { version, routes: services.map((s) => routeEntry(s, byService.get(s.name))) };
      }),
  };
}
