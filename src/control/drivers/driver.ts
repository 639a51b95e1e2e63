/**
 * Deploy drivers: how a release's canary instances come to exist and go away. `static`: the
 * endpoints come with the release and Tern starts nothing. `process`: Tern starts the service's
 * command as local processes (see process-driver.ts). One factory over the union, exhaustive.
 */
import type { Logger } from 'pino';
import type { Clock, DeploySpec, Release, Service } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import type { Move } from '../move.js';
import { createProcessDriver } from './process-driver.js';

export type DriverKind = DeploySpec['driver'];

export interface DriverContext {
  readonly store: Store;
  readonly move: Move;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  /** Instance logs go to `<dataDir>/logs/<service>/<version>-<i>.log`. */
  readonly dataDir: string;
  /** Between SIGTERM and SIGKILL when retiring. */
  readonly graceMs: number;
}

export interface Driver {
  readonly kind: DriverKind;
  /**
   * Called each tick for a pending release that has no endpoints yet: starts its instances or
   * checks on them, and registers their endpoints on the release once ready, or ends it
   * `failed`. Never waits for readiness itself.
   */
  prepare(release: Release, service: Service, now: number): Promise<void>;
  /** Stops what the driver started for `release` and records that; resolves when it is gone. */
  retire(release: Release, why: string): Promise<void>;
  /** Stops instances it started whose release is gone (deleted with its service). */
  collectOrphans(): Promise<void>;
  /** Stops waiting on anything; running instances stay (a restarted controller adopts them). */
  stop(): Promise<void>;
}

/** The static driver: endpoints come with the release; there is nothing to start or stop. */
function createStaticDriver(): Driver {
  return {
    kind: 'static',
    prepare: () => Promise.resolve(),
    retire: () => Promise.resolve(),
    collectOrphans: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}

/** Creates the driver of `kind`. @throws Error for an unknown kind (never a silent fallback). */
export function createDriver(kind: DriverKind, ctx: DriverContext): Driver {
  switch (kind) {
    case 'static':
      return createStaticDriver();
    case 'process':
      return createProcessDriver(ctx);
    default: {
      const never: never = kind;
      throw new Error(`unknown deploy driver ${String(never)}`);
    }
  }
}
