/**
 * A data plane that carries only some services (`--services a,b`): the table each apply gets
 * keeps only their routes, with the version unchanged, so the applied version the control
 * plane waits for still means "this table and every older change".
 */
import type { RoutingTable } from '../../core/types.js';
import type { Router } from './router.js';

/** `router` restricted to `services`; null = every service (the router itself). */
export function onlyServices(router: Router, services: readonly string[] | null): Router {
  if (services === null) return router;
  const keep = new Set(services);
  const filter = (table: RoutingTable): RoutingTable => ({
    version: table.version,
    routes: table.routes.filter((r) => keep.has(r.service)),
  });
  return {
    kind: router.kind,
    features: router.features,
    apply: (table) => router.apply(filter(table)),
    appliedVersion: () => router.appliedVersion(),
    close: () => router.close(),
  };
}
