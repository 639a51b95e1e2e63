/**
 * The controller's use of deploy drivers: a pending release without endpoints is handed to its
 * service's driver each tick; and, every few seconds, instances nobody routes to any more are
 * retired — a rolled-back canary's `retireAfter` after it ended, a replaced stable's
 * `retireAfter` after it was found replaced (the gateway stops sending new requests as soon
 * as the routing table changes; the delay lets requests in flight finish), a failed canary's at once;
 * and instances whose release was deleted with its service are stopped (instance-registry.ts).
 */
import type { Release, Service } from '../../core/types.js';
import { createDriver, type Driver, type DriverContext, type DriverKind } from './driver.js';

export interface Deployer {
  /**
   * Starts or checks the instances of a release that has no endpoints yet; true when its
   * service's driver starts instances (the release waits for them), false for static endpoints.
   */
  prepare(release: Release, now: number): Promise<boolean>;
  /** Retires instances no longer routed to (at most every `reconcileEveryMs`). */
  reconcile(now: number): Promise<void>;
  /** Stops waiting; running instances stay for the next controller to adopt. */
  stop(): Promise<void>;
}

export interface DeployerOptions extends DriverContext {
  /** Default 2 s. */
  readonly reconcileEveryMs?: number;
}

/** When `release`'s instances may go, and why; null while they are still routed to. */
function retirement(release: Release, service: Service | undefined, firstSeen: () => number): { at: number; why: string } | null {
  const after = service?.deploy?.driver === 'process' ? service.deploy.retireAfterMs : 0;
  switch (release.status) {
    case 'failed':
      return { at: 0, why: 'the canary never became ready' };
    case 'rolled_back':
      return { at: (release.endedAt ?? 0) + after, why: 'the canary was rolled back' };
    case 'promoted':
      if (service && service.stable.version === release.version) return null;
      return { at: firstSeen() + after, why: `replaced as stable by ${service?.stable.version ?? 'nothing (service deleted)'}` };
    default:
      return null;
  }
}

/** Creates the deployer; drivers are made once per kind, on first use. */
export function createDeployer(options: DeployerOptions): Deployer {
  const drivers = new Map<DriverKind, Driver>();
  const driver = (kind: DriverKind): Driver => {
    let d = drivers.get(kind);
    if (!d) drivers.set(kind, (d = createDriver(kind, options)));
    return d;
  };
  const replacedSince = new Map<string, number>();
  let lastReconcile = Number.NEGATIVE_INFINITY;

  async function reconcileNow(now: number): Promise<void> {
    const ended = (await options.store.listReleases({ active: false, limit: 100 })).filter(
      (r) => r.deployment && r.deployment.state !== 'retired',
    );
    const services = new Map<string, Service | undefined>();
    for (const release of ended) {
      if (!services.has(release.service)) services.set(release.service, await options.store.getService(release.service));
      const due = retirement(
        release,
        services.get(release.service),
        () => replacedSince.get(release.id) ?? (replacedSince.set(release.id, now), now),
      );
      if (due === null) replacedSince.delete(release.id);
      else if (now >= due.at) void driver(release.deployment!.driver).retire(release, due.why);
    }
    await driver('process').collectOrphans();
  }

  return {
    async prepare(release, now) {
      const service = await options.store.getService(release.service);
      const kind = service?.deploy?.driver ?? 'static';
      if (service && kind !== 'static') await driver(kind).prepare(release, service, now);
      return kind !== 'static';
    },
    async reconcile(now) {
      if (now - lastReconcile < (options.reconcileEveryMs ?? 2000)) return;
      lastReconcile = now;
      await reconcileNow(now);
    },
    async stop() {
      await Promise.all([...drivers.values()].map((d) => d.stop()));
    },
  };
}
