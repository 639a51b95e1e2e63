/**
 * `tern gateway`: one more data-plane replica. It watches the control plane's routing
 * table with a `gateway` token, pushes metrics once a second, keeps serving its last table when
 * the control plane is away (fail static, persisted to --state-file), and with `--workers N`
 * runs N processes sharing the port (node:cluster), all routing a user to the same version.
 */
import cluster from 'node:cluster';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { CliError, UsageError } from '../errors.js';
import { createLogger, logLevelOption, nextShutdownSignal } from '../lifecycle.js';
import { processIo, type Io, type OutputFormat } from '../output.js';
import { parseDurationFlag, parsePort, parseWorkers } from '../parse.js';
import { DEFAULT_URL } from '../context.js';
import { addLimitOptions, limitsFrom, warmUpFrom, type LimitFlags } from '../limit-flags.js';

import { caFrom, loadServingTls, reloadOnSighup, tlsCertOption, tlsFiles, tlsKeyOption, type TlsFlags } from '../tls-flags.js';

/** `--balance`: who accepts connections when several workers share the port. */
type Balance = 'kernel' | 'primary';

interface GatewayFlags extends LimitFlags, TlsFlags {
  readonly controlPlane?: string[];
  readonly controlPlaneCa?: string;
  readonly drainTimeout?: number;
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly stateFile?: string;
  readonly workers: number;
  readonly balance: Balance;
  readonly healthPath?: string;
  readonly exposeVersionHeader: boolean;
  readonly logLevel: string;
  readonly logFile?: string;
}

/** Registers `tern gateway` on the program. */
export function registerGatewayCommand(program: Command, io: Io = processIo): void {
  const command = program
    .command('gateway')
    .description("run one more gateway replica that routes user traffic by the control plane's table")
    .option(
      '--control-plane <url>',
      "the control plane's API URL (default: --url / TERN_URL); repeatable or comma-separated for servers sharing one database: a failed watch moves to the next",
      (value: string, list: string[] | undefined) => [...(list ?? []), ...value.split(',').filter(Boolean)],
    )
    .option(
      '--drain-timeout <duration>',
      'on SIGTERM/SIGINT: how long requests in flight may finish before the rest are cut (default: 30s)',
      parseDurationFlag,
    )
    .addOption(
      new Option(
        '--control-plane-ca <file>',
        'trust only this PEM CA bundle for an https:// control plane (default: --ca / TERN_CA, else the system roots)',
      ).env('TERN_CONTROL_PLANE_CA'),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port for user traffic; 0 picks a free one', parsePort, 8080)
    .option('--admin-port <port>', 'port for /metrics, /healthz, /readyz; 0 picks a free one', parsePort, 0)
    .option('--state-file <file>', 'where the last routing table is kept for restarts without the control plane', undefined)
    .option('--workers <n>', 'worker processes sharing the port; auto = one per CPU', (v: string) => parseWorkers(v), 1)
    .addOption(
      new Option(
        '--balance <how>',
        'with --workers > 1, who accepts connections: kernel = every worker accepts from the shared socket; primary = the primary accepts and hands each to the next worker (slower under a connection surge)',
      )
        .choices(['kernel', 'primary'])
        .default('kernel'),
    )
    .option('--health-path <path>', 'actively check every endpoint at this path')
    .option('--expose-version-header', 'add an x-tern-version header naming the version that answered', false)
    .addOption(tlsCertOption('user traffic'))
    .addOption(tlsKeyOption())
    .addOption(logLevelOption())
    .option('--log-file <file>', 'append JSON logs to this file instead of stderr');
  addLimitOptions(command)
    .addHelpText(
      'after',
      '\nThe token (--token / TERN_TOKEN) must have the gateway role: tern token create edge-1 --role gateway\nSIGHUP re-reads --tls-cert and --tls-key (open connections keep theirs); without TLS it ends the process.',
    )
    .action(async (flags: GatewayFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ url?: string; token?: string; ca?: string; output: OutputFormat }>();
      const token = globals.token ?? process.env.TERN_TOKEN;
      if (!token)
        throw new UsageError('a gateway token is needed: --token or TERN_TOKEN (create one with: tern token create NAME --role gateway)');
      // Files are checked here, so a bad one fails the start once, not in every worker.
      const tls = tlsFiles(flags);
      const ca = flags.controlPlaneCa ? caFrom(flags.controlPlaneCa, '--control-plane-ca') : caFrom(globals.ca, '--ca');
      if (cluster.isPrimary && flags.workers > 1) {
        await loadServingTls(tls);
        return supervise(flags, io, globals.output, tls !== undefined);
      }
      const urls = flags.controlPlane ?? [globals.url ?? process.env.TERN_URL ?? DEFAULT_URL];
      await runGateway(flags, { url: urls, token, ...(ca ? { trust: { ca } } : {}) }, io, globals.output);
    });
}

/** Default of --drain-timeout (also `tern server`'s). */
export const DEFAULT_DRAIN_MS = 30_000;

async function runGateway(
  flags: GatewayFlags,
  controlPlane: { url: string[]; token: string; trust?: { ca: Buffer } },
  io: Io,
  output: OutputFormat,
): Promise<void> {
  const logger = createLogger(flags);
  const { startGateway } = await import('../../gateway/gateway.js');
  const tls = await loadServingTls(tlsFiles(flags));
  const worker = cluster.isWorker ? `-w${cluster.worker?.id ?? 0}` : '';
  const gateway = await startGateway({
    host: flags.host,
    port: flags.port,
    controlPlane,
    stateFile: path.resolve(flags.stateFile ?? path.join('.tern', `gateway-${flags.port}.json`)),
    exposeVersionHeader: flags.exposeVersionHeader,
    tls,
    admin: { host: flags.host, port: flags.adminPort },
    ...(flags.healthPath ? { healthCheck: { path: flags.healthPath } } : {}),
    limits: limitsFrom(flags),
    warmUpRequests: warmUpFrom(flags),
    closeGraceMs: flags.drainTimeout ?? DEFAULT_DRAIN_MS,
    logger: logger.child({ component: 'gateway', worker: worker || undefined }),
  }).catch((err: unknown) => {
    const e = err as { code?: string; message?: string };
    throw e.code === 'EADDRINUSE' ? new CliError(`${e.message ?? 'address in use'}: pick another --port or --admin-port`) : err;
  });
  // The primary of --workers N prints where the workers really listen (--port 0: a port the OS picked).
  if (cluster.isWorker) process.send?.({ tern: 'gateway-listening', url: gateway.url, adminUrl: gateway.adminUrl } satisfies Listening);
  else {
    if (output === 'json')
      io.out(
        JSON.stringify({ gatewayUrl: gateway.url, adminUrl: gateway.adminUrl, id: gateway.id, controlPlane: controlPlane.url.join(',') }),
      );
    else {
      io.out(`Tern gateway listening on ${gateway.url} (metrics: ${gateway.adminUrl ?? 'off'}/metrics)`);
      io.out(`Following the control plane at ${controlPlane.url.join(', ')}; press Ctrl+C to stop.`);
    }
  }
  // A worker whose primary is gone (killed, crashed) must not linger holding the port.
  if (cluster.isWorker) process.once('disconnect', () => void gateway.close().finally(() => process.exit(0)));
  const stopReloading = tls ? reloadOnSighup(() => tls.reload(), logger) : () => undefined;
  const signal = await Promise.race([nextShutdownSignal(io), drainRequested()]);
  stopReloading();
  logger.info({ signal, drainTimeoutMs: flags.drainTimeout ?? DEFAULT_DRAIN_MS }, 'draining: not accepting, finishing requests in flight');
  await gateway.close();
  if (!cluster.isWorker && output === 'table') io.out('Tern gateway stopped.');
}

/** What a worker tells the primary once it listens. */
interface Listening {
  readonly tern: 'gateway-listening';
  readonly url: string;
  readonly adminUrl: string | null;
}

/** The primary's request to drain (a message, not a signal: a worker that already got Ctrl+C's SIGINT must not take it as a second one). */
const DRAIN_MESSAGE = 'tern:drain';

/** Resolves when this worker's primary asks it to drain; never outside a cluster worker. */
function drainRequested(): Promise<'drain'> {
  return new Promise((resolve) => {
    if (!cluster.isWorker) return;
    const onMessage = (message: unknown): void => {
      if (message !== DRAIN_MESSAGE) return;
      process.off('message', onMessage);
      resolve('drain');
    };
    process.on('message', onMessage);
  });
}

/**
 * The cluster primary: forks the workers, prints where the first one listens (all share its
 * port), replaces one that exits (killed, crashed, or drained by its own SIGTERM — a rolling
 * restart), and on a signal has every worker drain, killing one still running a few seconds
 * after the drain timeout.
 */
async function supervise(flags: GatewayFlags, io: Io, output: OutputFormat, tls: boolean): Promise<void> {
  // Must be set before the first fork. With 100,000 users connecting within a minute through 7
  // workers (bench/scale, docs/operations.md), round robin's queue of handed-off sockets once
  // filled the primary's 20,000 descriptors and connections were reset; when workers accept for
  // themselves and fall behind, the kernel drops SYNs that clients resend and no process holds a
  // queue of sockets.
  cluster.schedulingPolicy = flags.balance === 'primary' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  let stopping = false;
  let announced = false;
  // Each worker serves its own copy of the certificate: pass the reload on.
  const forwardHup = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  };
  if (tls) process.on('SIGHUP', forwardHup);
  // Announced once every worker serves (each warms up before it listens): a script that starts
  // sending on this line must not find all its connections handed to the first worker.
  let first: Partial<Listening> | null = null;
  const serving = new Set<number>();
  const announce = (): void => {
    if (announced || first === null || serving.size < flags.workers) return;
    announced = true;
    if (output === 'json') return io.out(JSON.stringify({ gatewayUrl: first.url, adminUrl: first.adminUrl, workers: flags.workers }));
    io.out(`Tern gateway listening on ${first.url} with ${flags.workers} workers (metrics: ${first.adminUrl ?? 'off'}/metrics)`);
    io.out('Press Ctrl+C to stop.');
  };
  cluster.on('message', (_worker, message: Partial<Listening> | null) => {
    if (first !== null || message?.tern !== 'gateway-listening') return;
    first = message;
    announce();
  });
  const fork = (): void => {
    cluster.fork();
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    io.err(`gateway worker ${worker.id} exited (${signal ?? code}); starting another`);
    setTimeout(fork, 500);
  });
  // One line per worker once it serves (the user port is bound before the admin port), so a
  // rolling restart can wait for the replacement before it stops the next worker.
  cluster.on('listening', (worker) => {
    if (serving.has(worker.id)) return;
    serving.add(worker.id);
    io.out(`gateway worker ${worker.id} (pid ${worker.process.pid ?? '?'}) listening`);
    announce();
  });
  cluster.on('exit', (worker) => serving.delete(worker.id));
  for (let i = 0; i < flags.workers; i++) fork();
  await nextShutdownSignal(io);
  process.off('SIGHUP', forwardHup);
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          const overdue = setTimeout(() => w.process.kill('SIGKILL'), (flags.drainTimeout ?? DEFAULT_DRAIN_MS) + 5_000);
          w.once('exit', () => {
            clearTimeout(overdue);
            resolve();
          });
          try {
            w.send(DRAIN_MESSAGE);
          } catch {
            w.process.kill('SIGTERM');
          }
        }),
    ),
  );
  if (output === 'table') io.out('Tern gateway stopped.');
}
