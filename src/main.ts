/**
 * Composition root: wires the store, the API, the release controller and one built-in gateway
 * into one process, the way `tern server` runs them. The gateway talks to the control plane over
 * loopback with its own `gateway` token, exactly as a separate `tern gateway` would, and
 * persists its table in the data dir (fail static). With `dataPlane: 'none'` no gateway starts:
 * external data planes (`tern agent haproxy|nginx`, `tern gateway`) carry all user traffic.
 * Nothing else constructs these pieces.
 */
import { access, mkdir, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { buildApp } from './api/app.js';
import { ADMIN_TOKEN_FILE, ensureAdminToken, ensureGatewayToken } from './api/bootstrap.js';
import { parseAlertmanagerUrl, startAlertmanagerNotifier, type AlertmanagerNotifier } from './control/notify/alertmanager.js';
import { compileWebhookPolicy } from './control/notify/destinations.js';
import { loadWebhookSecret } from './control/notify/secret.js';
import { Registry } from 'prom-client';
import { createControllerMetrics } from './control/metrics.js';
import { startController, type Controller } from './control/runner.js';
import { ValidationError } from './core/errors.js';
import { startGateway, type Gateway } from './gateway/gateway.js';
import type { LimitSettings } from './gateway/limits.js';
import { ServingTls, baseUrl, certificateLog, type TlsFiles, type TlsMaterial } from './net/tls.js';
import { openStore, parseStoreUrl } from './store/open-store.js';
import type { Store } from './store/store.js';

/** What `tern server` runs to carry user traffic. */
export const SERVER_DATA_PLANES = ['builtin', 'none'] as const;
export type ServerDataPlane = (typeof SERVER_DATA_PLANES)[number];

export interface ServerOptions {
  /** Holds `tern.db` (unless `store` names another database), the admin, gateway and webhook secrets and the gateway's table; created with mode 0700 when missing. */
  readonly dataDir: string;
  /**
   * Where state lives (open-store.ts): default SQLite at `<dataDir>/tern.db`; a `postgres://…`
   * URL lets several servers share one database, their controllers electing one leader.
   */
  readonly store?: string | undefined;
  readonly host: string;
  /** 0 picks a free port. */
  readonly apiPort: number;
  /** Where the built-in gateway serves user traffic; 0 picks a free port. */
  readonly gatewayPort: number;
  /** `builtin` (default): run one built-in gateway; `none`: only external data planes carry traffic (`--data-plane`). */
  readonly dataPlane?: ServerDataPlane;
  /** Serve an `x-tern-version` header naming the version that answered (default false). */
  readonly exposeVersionHeader?: boolean;
  /** Bootstrap admin secret (TERN_ADMIN_TOKEN); when absent one is generated on first start. */
  readonly adminToken?: string | undefined;
  /** Default: JSON logs at info level on stderr. */
  readonly logger?: Logger | undefined;
  /** X-Forwarded-For is believed only from these addresses/CIDRs (`--trusted-proxy`); default none. */
  readonly trustedProxies?: readonly string[];
  /** Serve the API's `/metrics` without a token (`--metrics-public`); default false. */
  readonly metricsPublic?: boolean;
  /** Prune audit events older than this (ms) once exported (`--audit-retention`); default keep forever. */
  readonly auditRetentionMs?: number;
  /** Connection caps and timeouts of the built-in gateway (defaults in gateway/limits.ts). */
  readonly gatewayLimits?: Partial<LimitSettings>;
  /** Requests the built-in gateway serves itself before it listens (gateway/warm-up.ts); default 0. */
  readonly gatewayWarmUpRequests?: number;
  /** How often the controller looks at active releases (ms). Default 1000. */
  readonly controllerTickMs?: number;
  /** The controller's leader lease (ms): how long a dead leader holds releases before another server takes over (`--lease-ttl`). Default 3 × tick, at least 3 s. */
  readonly leaseTtlMs?: number;
  /** How long a step waits for the data planes to apply its weight before the release pauses (ms, `--apply-timeout`). Default 30 s. */
  readonly applyTimeoutMs?: number;
  /** On close, how long the built-in gateway lets requests in flight finish (ms, `--drain-timeout`). Default 5000. */
  readonly drainTimeoutMs?: number;
  /**
   * Webhook destinations allowed (`--webhook-allow`, TERN_WEBHOOK_ALLOW): host names, IPs, CIDRs.
   * Default none: any destination but loopback, link-local and unspecified addresses.
   */
  readonly webhookAllow?: readonly string[];
  /** Serve the API (dashboard included) and the built-in gateway over HTTPS with this certificate and key. */
  readonly tls?: TlsFiles | undefined;
  /** Post Tern's alerts to this Alertmanager (`--alertmanager-url`); default none. */
  readonly alertmanagerUrl?: string | undefined;
  /** The default Prometheus (`--prometheus-url`) of Prometheus-sourced services and custom checks that name none. */
  readonly prometheusUrl?: string | undefined;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:7070`, with the port actually bound. */
  readonly apiUrl: string;
  /** The built-in gateway, e.g. `http://127.0.0.1:8080`; null with `dataPlane: 'none'`. */
  readonly gatewayUrl: string | null;
  /** The gateway's admin listener (`/metrics`, `/healthz`). */
  readonly gatewayAdminUrl: string | null;
  /** The file holding the bootstrap admin secret, when there is one (none with TERN_ADMIN_TOKEN). */
  readonly adminTokenFile: string | null;
  /** True when the admin secret is the one given in `adminToken` (TERN_ADMIN_TOKEN). */
  readonly adminTokenFromEnv: boolean;
  /** The admin secret when this start generated it (show it once), else null. */
  readonly generatedAdminToken: string | null;
  /** Which kind of database holds the state. */
  readonly store: 'sqlite' | 'postgres';
  /**
   * Re-reads the TLS certificate and key and serves them to new connections (open ones keep
   * theirs); null without TLS.
   * @throws TlsFileError when the files are bad: the current certificate then stays.
   */
  readonly reloadTls: (() => Promise<TlsMaterial>) | null;
  /** Stops accepting connections, lets requests in flight finish, closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the all-in-one server and resolves once it is listening.
 * @throws ValidationError for bad options; the store's or listen's error (e.g. EADDRINUSE) when
 * startup fails, after releasing whatever was already opened.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  checkOptions(options);
  const webhookPolicy = compileWebhookPolicy(options.webhookAllow, 'webhookAllow');
  const logger = options.logger ?? pino({ level: 'info' }, pino.destination({ dest: 2, sync: true }));
  // Read before anything is opened, so a bad certificate fails the start with nothing to undo.
  const tls = options.tls === undefined ? undefined : await ServingTls.load(options.tls);
  const dataDir = path.resolve(options.dataDir);
  await prepareDataDir(dataDir, logger);

  const storeUrl = options.store ?? `sqlite:${path.join(dataDir, 'tern.db')}`;
  const shared = parseStoreUrl(storeUrl).kind === 'postgres';
  const store = await openStore(storeUrl, { logger: logger.child({ component: 'store' }) });
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let controller: Controller | undefined;
  let gateway: Gateway | undefined;
  let alertmanager: AlertmanagerNotifier | undefined;
  try {
    const envToken = options.adminToken === '' ? undefined : options.adminToken;
    const token = await ensureAdminToken(store, { dataDir, envToken });
    // One registry: a scrape of the API's /metrics sees the controller's release metrics too.
    const registry = new Registry();
    app = await buildApp({
      store,
      logger: logger.child({ component: 'api' }),
      registry,
      webhookPolicy,
      tls,
      trustedProxies: options.trustedProxies ?? [],
      metricsPublic: options.metricsPublic ?? false,
      prometheusUrl: options.prometheusUrl,
      ...(options.auditRetentionMs === undefined ? {} : { auditRetentionMs: options.auditRetentionMs }),
    });
    await app.listen({ host: options.host, port: options.apiPort });
    // Webhook calls are signed with TERN_WEBHOOK_SECRET, else <data-dir>/webhook.secret (0600, made on first start).
    const { secret: webhookSecret } = await loadWebhookSecret(dataDir, process.env.TERN_WEBHOOK_SECRET);
    if (shared && process.env.TERN_WEBHOOK_SECRET === undefined) {
      logger.warn(
        { dataDir },
        'shared store without TERN_WEBHOOK_SECRET: this server signs webhooks with its own data-dir secret; give every server sharing the database the same TERN_WEBHOOK_SECRET',
      );
    }
    controller = startController({
      store,
      logger: logger.child({ component: 'controller' }),
      tickMs: options.controllerTickMs ?? 1000,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.applyTimeoutMs === undefined ? {} : { applyTimeoutMs: options.applyTimeoutMs }),
      webhookSecret,
      webhookPolicy,
      dataDir,
      metrics: createControllerMetrics(registry),
      ...(options.prometheusUrl === undefined ? {} : { prometheusUrl: options.prometheusUrl }),
    });
    const { port } = app.server.address() as AddressInfo;
    const apiUrl = baseUrl(options.host, port, tls !== undefined);
    if (options.alertmanagerUrl !== undefined) {
      const tickMs = options.controllerTickMs ?? 1000;
      const leaseTtlMs = options.leaseTtlMs ?? Math.max(3 * tickMs, 3000);
      alertmanager = startAlertmanagerNotifier({
        url: options.alertmanagerUrl,
        store,
        externalUrl: apiUrl,
        // The controller's lease (runner.ts): only the leading controller posts (but every server the no-leader alert).
        isLeader: () => store.acquireLease('release-controller', `controller-${process.pid}`, leaseTtlMs),
        leaseName: 'release-controller',
        leaseTtlMs,
        ...(options.applyTimeoutMs === undefined ? {} : { applyTimeoutMs: options.applyTimeoutMs }),
        logger: logger.child({ component: 'alertmanager' }),
      });
    }
    logger.info({ apiUrl, dataDir, store: shared ? 'postgres' : 'sqlite' }, 'Tern API listening');
    if (tls) logger.info(certificateLog(tls.material), 'serving TLS');
    if ((options.dataPlane ?? 'builtin') === 'builtin') {
      gateway = await startBuiltinGateway(options, apiUrl, tls, dataDir, store, logger);
    } else {
      logger.info('no built-in gateway (data plane: none): external data planes carry user traffic');
    }
    const tokenFile = path.join(dataDir, ADMIN_TOKEN_FILE);
    return {
      apiUrl,
      gatewayUrl: gateway?.url ?? null,
      gatewayAdminUrl: gateway?.adminUrl ?? null,
      adminTokenFile: token.file ?? (envToken === undefined && (await exists(tokenFile)) ? tokenFile : null),
      adminTokenFromEnv: envToken !== undefined,
      generatedAdminToken: token.created ? token.secret : null,
      store: shared ? 'postgres' : 'sqlite',
      reloadTls: tls ? () => tls.reload() : null,
      close: once(() => shutdown(gateway, app, controller, store, logger, alertmanager)),
    };
  } catch (err) {
    await shutdown(gateway, app, controller, store, logger, alertmanager).catch((closeErr: unknown) =>
      logger.warn({ err: closeErr }, 'cleanup after failed start also failed'),
    );
    throw err;
  }
}

/** The built-in gateway, following this server's API over loopback with the gateway token. */
async function startBuiltinGateway(
  options: ServerOptions,
  apiUrl: string,
  tls: ServingTls | undefined,
  dataDir: string,
  store: Store,
  logger: Logger,
): Promise<Gateway> {
  const gateway = await startGateway({
    host: options.host,
    port: options.gatewayPort,
    controlPlane: {
      url: apiUrl,
      token: await ensureGatewayToken(store, dataDir),
      // Over loopback no certificate name matches: trust exactly the certificate this process serves.
      ...(tls ? { trust: { pinned: () => [tls.material.fingerprint256] } } : {}),
    },
    tls,
    stateFile: path.join(dataDir, 'gateway-table.json'),
    exposeVersionHeader: options.exposeVersionHeader ?? false,
    ...(options.gatewayLimits === undefined ? {} : { limits: options.gatewayLimits }),
    ...(options.gatewayWarmUpRequests === undefined ? {} : { warmUpRequests: options.gatewayWarmUpRequests }),
    ...(options.drainTimeoutMs === undefined ? {} : { closeGraceMs: options.drainTimeoutMs }),
    logger: logger.child({ component: 'gateway' }),
  });
  logger.info({ gatewayUrl: gateway.url, adminUrl: gateway.adminUrl }, 'Tern gateway listening');
  return gateway;
}

async function shutdown(
  gateway: Gateway | undefined,
  app: { close(): Promise<unknown> } | undefined,
  controller: Controller | undefined,
  store: { close(): Promise<void> },
  logger: Logger,
  alertmanager?: AlertmanagerNotifier,
): Promise<void> {
  try {
    await alertmanager?.stop();
    // User traffic first: the gateway stops accepting and lets requests in flight finish.
    await gateway?.close();
    // The controller finishes its current tick, so no release move is cut in half.
    await controller?.stop();
    // Fastify stops accepting, answers 503 to new requests on kept-alive sockets and waits for
    // requests in flight before resolving.
    await app?.close();
  } finally {
    await store.close();
    logger.info('Tern stopped');
  }
}

async function prepareDataDir(dataDir: string, logger: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { mode } = await stat(dataDir);
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { dataDir, mode: (mode & 0o777).toString(8) },
      'data directory is readable by other users; it holds the admin token, consider chmod 700',
    );
  }
}

function checkOptions(o: ServerOptions): void {
  if (o.alertmanagerUrl !== undefined) parseAlertmanagerUrl(o.alertmanagerUrl);
  if (o.prometheusUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(o.prometheusUrl))
    throw new ValidationError(
      'prometheusUrl',
      `expected an http(s) URL such as http://127.0.0.1:9090, got ${JSON.stringify(o.prometheusUrl)}`,
    );
  if (!o.dataDir) throw new ValidationError('dataDir', 'a data directory is required');
  if (!o.host) throw new ValidationError('host', 'a host to listen on is required, e.g. 127.0.0.1');
  if (o.dataPlane !== undefined && !SERVER_DATA_PLANES.includes(o.dataPlane))
    throw new ValidationError('dataPlane', `expected one of ${SERVER_DATA_PLANES.join(', ')}, got ${JSON.stringify(o.dataPlane)}`);
  for (const [field, port] of [
    ['apiPort', o.apiPort],
    ['gatewayPort', o.gatewayPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new ValidationError(field, `expected a port from 0 to 65535, got ${port}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
