/**
 * The built-in router: a Router over Tern's own gateway running in this process
 * (src/gateway/gateway.ts). The gateway swaps a compiled table atomically, so a table is in
 * force the moment `apply` resolves; it executes every rule and both sticky bucket hashes.
 *
 * ```ts
 * const gateway = await startGateway({ host: '127.0.0.1', port: 8080 });
 * const router = createBuiltinRouter(gateway);
 * startReconciler({ router, url, token, dataPlane: 'edge-1', logger });
 * ```
 */
import { ValidationError } from '../../core/errors.js';
import type { RoutingTable } from '../../core/types.js';
import type { Gateway } from '../../gateway/gateway.js';
import { BUILTIN_FEATURES } from '../../gateway/status-report.js';
import { missingFeatures, type Router } from './router.js';

/** The part of a gateway the router drives. */
export type BuiltinGateway = Pick<Gateway, 'applyTable' | 'tableVersion'>;

/**
 * A Router over `gateway`. close() stops driving it and leaves it serving its last table; the
 * gateway's owner closes the gateway.
 */
export function createBuiltinRouter(gateway: BuiltinGateway): Router {
  let closed = false;
  return {
    kind: 'builtin',
    features: BUILTIN_FEATURES,
    apply(table: RoutingTable): Promise<void> {
      try {
        if (closed) throw new Error('the builtin router is closed');
        table.routes.forEach((route, i) => {
          const missing = missingFeatures(route, BUILTIN_FEATURES);
          if (missing.length > 0)
            throw new ValidationError(
              `routes[${i}]`,
              `the builtin data plane cannot execute ${missing.join(', ')} (service ${route.service})`,
            );
        });
        gateway.applyTable(table); // throws before the swap when the table is inconsistent
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    appliedVersion: () => gateway.tableVersion(),
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
