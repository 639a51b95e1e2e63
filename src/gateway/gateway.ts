/**
 * Tern's built-in gateway: the composition of the proxy, the routing table, the
 * endpoint pools and health, metrics, the admin listener and the control-plane sync.
 *
 * ```ts
 * const gw = await startGateway({
 *   host: '127.0.0.1', port: 8080,                       // port 0: any free port
 *   controlPlane: { url: 'http://127.0.0.1:7070', token }, // optional: watch table, push metrics
 *   initialTable,                                         // optional: start with this table
 *   stateFile: '.tern/gateway-table.json',                // optional: fail-static persistence
 *   exposeVersionHeader: false,                           // `x-tern-version` on responses
 *   healthCheck: { path: '/healthz', intervalMs: 5000 },  // optional active checks
 *   admin: { port: 9901 },                                // /metrics, /healthz, /readyz; false: none
 * });
 * gw.url; gw.adminUrl; gw.applyTable(table); gw.metrics.totals(); await gw.close();
 * ```
 *
 * With a control plane, the gateway reports itself as a `builtin` data plane (status-report.ts):
 * the routing version it executes, after every applied table and every 5 s, so the control
 * plane starts a step's hold once users are routed by it.
 *
 * Table precedence at start: `initialTable`, else the state file; then, with a control plane,
 * its table as soon as it answers (startGateway waits up to `startupWaitMs` for that answer).
 * Every applied table is persisted to `stateFile`. Metrics are served by a separate admin
 * listener (default: same host, any free port) so `/metrics` never shadows a user route.
 * Parse errors are answered 400 and never forwarded (listener.ts); connection caps and timeouts
 * (`limits`, defaults in limits.ts) and the request screen (request-screen.ts: Host, version,
 * header count, path normalisation) apply before any request is routed.
 */
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import type { RoutingTable } from '../core/types.js';
import { baseUrl, type ServerTrust, type ServingTls } from '../net/tls.js';
import { startAdmin } from './admin.js';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry, type PoolSettings } from './endpoints.js';
import {
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER_SETTINGS,
  startActiveChecks,
  type HealthCheckSettings,
  type OutlierSettings,
} from './health.js';
import { defaultLimits, type LimitSettings } from './limits.js';
import { GatewayMetrics } from './metrics.js';
import { checkOptions } from './options.js';
import { closeServer, startProxyListener, urlOf } from './listener.js';
import type { ProxyDeps } from './proxy.js';
import { compileTable, type CompiledTable } from './route-table.js';
import { readStateFile, stateFileWriter } from './state-file.js';
import { BUILTIN_FEATURES } from './status-report.js';
import { startSync, type SyncHandle } from './sync.js';
import { warmUp } from './warm-up.js';

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly controlPlane?: {
    /** The control plane's API URL, or several (servers sharing one database): a failed watch moves to the next. */
    readonly url: string | readonly string[];
    readonly token: string;
    readonly waitSeconds?: number;
    readonly pushIntervalMs?: number;
    /**
     * Status reports (`POST /api/v1/dataplane/status`) as the `builtin` data plane named by
     * `gatewayId`: after every applied table and every `statusIntervalMs` (default 5000);
     * false for none.
     */
    readonly reportStatus?: boolean;
    readonly statusIntervalMs?: number;
    readonly backoff?: { readonly baseMs: number; readonly capMs: number };
    /** How an `https://` control plane is trusted (default: the system's CA roots). */
    readonly trust?: ServerTrust;
  };
  /** Serve user traffic over HTTPS with this certificate (reloadable); default plain HTTP. The admin listener stays HTTP. */
  readonly tls?: ServingTls | undefined;
  readonly initialTable?: RoutingTable;
  readonly stateFile?: string;
  readonly logger?: Logger;
  readonly exposeVersionHeader?: boolean;
  readonly healthCheck?: Partial<HealthCheckSettings> & { readonly path: string };
  readonly outlier?: Partial<OutlierSettings>;
  readonly pool?: Partial<PoolSettings>;
  /** Admin listener (default `{ host, port: 0 }`); false for none. */
  readonly admin?: { readonly host?: string; readonly port?: number } | false;
  /** Identifies this gateway in metric pushes (default `<hostname>:<pid>:<port>`). */
  readonly gatewayId?: string;
  /** Largest request head accepted, bytes (default 16 KiB, node's default). */
  readonly maxHeaderSize?: number;
  /** How long startGateway waits for the control plane's first answer, ms (default 5000). */
  readonly startupWaitMs?: number;
  /** How long close() lets requests in flight finish, ms (default 5000). */
  readonly closeGraceMs?: number;
  /** Connection caps and timeouts of the user listener; defaults in limits.ts. */
  readonly limits?: Partial<LimitSettings>;
  /**
   * Requests the gateway serves itself, on a private port to a private sink, before its user
   * listener opens, so its first users find the proxy path compiled (warm-up.ts); 0 for none.
   * Default 0 here; `tern gateway` and `tern server` use DEFAULT_WARM_UP_REQUESTS.
   */
  readonly warmUpRequests?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** `http://host:port` of the admin listener, or null when disabled. */
  readonly adminUrl: string | null;
  readonly id: string;
  readonly metrics: GatewayMetrics;
  /** Version of the table in use; 0 before the first. */
  tableVersion(): number;
  /** User connections open now, and refused so far by the connection caps. */
  connections(): { open: number; refused: number };
  /** Compiles and swaps in `table`. @throws ValidationError when it is inconsistent (the old table stays). */
  applyTable(table: RoutingTable): void;
  close(): Promise<void>;
}

async function startingTable(options: GatewayOptions, logger: Logger): Promise<RoutingTable | null> {
  if (options.initialTable) return options.initialTable;
  if (options.stateFile === undefined) return null;
  try {
    const table = await readStateFile(options.stateFile);
    if (table) logger.info({ version: table.version, stateFile: options.stateFile }, 'starting from the persisted routing table');
    return table;
  } catch (err) {
    logger.error({ err, stateFile: options.stateFile }, 'state file unreadable; starting without a table');
    return null;
  }
}

/** The one reference to the compiled table, and the only way to replace it. */
interface RoutingState {
  readonly current: () => CompiledTable | null;
  readonly apply: (table: RoutingTable) => void;
  readonly flush: () => Promise<void>;
}

function routingState(registry: EndpointRegistry, metrics: GatewayMetrics, stateFile: string | undefined, logger: Logger): RoutingState {
  let current: CompiledTable | null = null;
  const writer =
    stateFile === undefined ? null : stateFileWriter(stateFile, (err) => logger.error({ err }, 'could not persist the routing table'));
  return {
    current: () => current,
    apply: (table) => {
      current = compileTable(table, registry); // throws before the swap when invalid
      metrics.tableVersion.set(table.version);
      metrics.noteTable(table);
      writer?.save(table);
      logger.info({ version: table.version, routes: table.routes.length }, 'routing table applied');
    },
    flush: () => writer?.flush() ?? Promise.resolve(),
  };
}

/** Starts the control-plane sync and waits (bounded) for its first answer. */
async function connectControlPlane(
  options: GatewayOptions,
  id: () => string,
  state: RoutingState,
  metrics: GatewayMetrics,
  logger: Logger,
): Promise<SyncHandle | null> {
  const cp = options.controlPlane;
  if (!cp) return null;
  const sync = startSync({
    url: cp.url,
    token: cp.token,
    gatewayId: id,
    logger,
    currentVersion: () => state.current()?.version ?? 0,
    apply: (table) => state.apply(table),
    drainWindows: () => metrics.drainWindows(),
    drainEvents: () => metrics.drainFallbacks(),
    ...(cp.waitSeconds === undefined ? {} : { waitSeconds: cp.waitSeconds }),
    ...(cp.pushIntervalMs === undefined ? {} : { pushIntervalMs: cp.pushIntervalMs }),
    ...(cp.backoff === undefined ? {} : { backoff: cp.backoff }),
    ...(cp.trust === undefined ? {} : { trust: cp.trust }),
    ...(cp.reportStatus === false
      ? {}
      : {
          status: {
            dataPlane: id,
            kind: 'builtin',
            features: BUILTIN_FEATURES,
            services: null,
            ...(cp.statusIntervalMs === undefined ? {} : { intervalMs: cp.statusIntervalMs }),
          },
        }),
  });
  await Promise.race([sync.firstPoll, sleep(options.startupWaitMs ?? 5_000, undefined, { ref: false })]);
  return sync;
}

function proxyDeps(options: GatewayOptions, state: RoutingState, metrics: GatewayMetrics, logger: Logger): ProxyDeps {
  return {
    currentTable: state.current,
    metrics,
    outlier: { ...DEFAULT_OUTLIER_SETTINGS, ...options.outlier },
    exposeVersionHeader: options.exposeVersionHeader ?? false,
    logger,
    now: Date.now,
  };
}

/**
 * Starts a gateway; resolves once it listens.
 * @throws ValidationError for an out-of-range option or an invalid `initialTable`; the listen error when a port cannot be bound.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  checkOptions(options);
  const logger = options.logger ?? pino({ name: 'tern-gateway' });
  const pool = { ...DEFAULT_POOL_SETTINGS, ...options.pool };
  const registry = new EndpointRegistry(pool);
  const metrics = new GatewayMetrics();
  metrics.trackEndpoints(() => registry.live());
  const state = routingState(registry, metrics, options.stateFile, logger);
  const initial = await startingTable(options, logger);
  if (initial) state.apply(initial);

  // The first table before the port is bound: a gateway (or a new cluster worker, which the
  // primary hands connections once it listens) never answers users without a table it could get.
  let id = options.gatewayId ?? '';
  const sync = await connectControlPlane(options, () => id, state, metrics, logger);
  const limits: LimitSettings = { ...defaultLimits(), ...options.limits };
  if ((options.warmUpRequests ?? 0) > 0) {
    const warm = await warmUp(options.warmUpRequests ?? 0, { pool, limits, logger });
    logger.debug({ requests: warm.requests, ms: Math.round(warm.ms) }, 'proxy path warmed up');
  }
  const proxy = await startProxyListener(options, proxyDeps(options, state, metrics, logger), pool, limits).catch(async (err: unknown) => {
    await sync?.stop();
    throw err;
  });
  const adminHost = (options.admin ? options.admin.host : undefined) ?? options.host;
  const admin =
    options.admin === false
      ? null
      : await startAdmin(adminHost, options.admin?.port ?? 0, { metrics, ready: () => state.current() !== null, logger }).catch(
          async (err: unknown) => {
            await sync?.stop();
            await closeServer(proxy.server, 0);
            throw err;
          },
        );
  const stopChecks = options.healthCheck
    ? startActiveChecks(registry, { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck }, logger)
    : () => undefined;
  id ||= `${hostname()}:${process.pid}:${proxy.port}`;
  sync?.reportStatus();

  const close = async (): Promise<void> => {
    stopChecks();
    await sync?.stop();
    await proxy.close(options.closeGraceMs ?? 5_000);
    if (admin) await closeServer(admin, 0);
    await registry.destroyAll();
    await state.flush();
  };
  let closing: Promise<void> | null = null;
  return {
    url: baseUrl(options.host, proxy.port, options.tls !== undefined),
    port: proxy.port,
    adminUrl: admin === null ? null : urlOf(adminHost, (admin.address() as AddressInfo).port),
    id,
    metrics,
    tableVersion: () => state.current()?.version ?? 0,
    connections: () => ({ open: proxy.gate.open, refused: proxy.gate.refused }),
    applyTable: state.apply,
    close: () => (closing ??= close()),
  };
}
