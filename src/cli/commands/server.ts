/**
 * `tern server`: the all-in-one server in the foreground. Human lines go to stdout,
 * JSON logs to stderr (or --log-file). SIGINT/SIGTERM shut it down gracefully with exit 0;
 * a second signal forces exit.
 */
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { compileWebhookPolicy } from '../../control/notify/destinations.js';
import { CliError } from '../errors.js';
import { processIo, type Io, type OutputFormat } from '../output.js';
import { collect, parseDurationFlag, parsePort } from '../parse.js';
import { createLogger, logLevelOption, nextShutdownSignal } from '../lifecycle.js';
import { addLimitOptions, limitsFrom, warmUpFrom, type LimitFlags } from '../limit-flags.js';
import { DEFAULT_DRAIN_MS } from './gateway.js';

import { explainTls, reloadOnSighup, tlsCertOption, tlsFiles, tlsKeyOption, type TlsFlags } from '../tls-flags.js';

interface ServerFlags extends LimitFlags, TlsFlags {
  readonly dataDir: string;
  readonly store?: string;
  readonly host: string;
  readonly apiPort: number;
  readonly gatewayPort: number;
  readonly dataPlane: 'builtin' | 'none';
  readonly exposeVersionHeader: boolean;
  readonly logLevel: string;
  readonly logFile?: string;
  readonly trustedProxy?: string[];
  readonly metricsPublic: boolean;
  readonly auditRetention?: number;
  readonly webhookAllow?: string[];
  readonly alertmanagerUrl?: string;
  readonly prometheusUrl?: string;
  readonly drainTimeout?: number;
  readonly leaseTtl?: number;
  readonly applyTimeout?: number;
}

/** How long a graceful shutdown may take beyond the drain timeout before the process gives up and exits 1. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Registers `tern server` on the program. */
export function registerServerCommand(program: Command, io: Io = processIo): void {
  const command = program
    .command('server')
    .description(
      'run the all-in-one server: API, release controller and one built-in gateway, on embedded SQLite or a shared PostgreSQL (--store)',
    )
    .option('--data-dir <dir>', 'where the database (unless --store) and the secrets live', './.tern')
    .option(
      '--store <url>',
      'keep state in this database instead: postgres://user:password@host/db, shared by several servers (or TERN_STORE_URL)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--api-port <port>', 'API port; 0 picks a free one', parsePort, 7070)
    .option('--gateway-port <port>', 'port of the built-in gateway that serves user traffic; 0 picks a free one', parsePort, 8080)
    .addOption(
      new Option(
        '--data-plane <kind>',
        'what carries user traffic: builtin (one built-in gateway in this process) or none (only external data planes: tern gateway, tern agent haproxy|nginx)',
      )
        .choices(['builtin', 'none'])
        .default('builtin'),
    )
    .option('--expose-version-header', 'add an x-tern-version header naming the version that answered', false)
    .option(
      '--trusted-proxy <cidr>',
      'believe X-Forwarded-For only from this proxy address or CIDR (repeatable), e.g. 127.0.0.1 for a local TLS proxy',
      collect,
    )
    .option('--metrics-public', "serve the API's /metrics without a token (default: a viewer or gateway token)", false)
    .option(
      '--audit-retention <duration>',
      'prune audit events older than this once exported, e.g. 90d (default: keep forever)',
      parseDurationFlag,
    )
    .option(
      '--webhook-allow <host-or-cidr>',
      'let webhooks call this host name (*.example.com for subdomains), IP or CIDR; repeatable; once given, only listed destinations are called (loopback and link-local only when listed)',
      (value: string, list: string[] | undefined) => [...(list ?? []), value],
    )
    .addOption(tlsCertOption('the API, the dashboard and the built-in gateway'))
    .addOption(tlsKeyOption())
    .option(
      '--alertmanager-url <url>',
      "post Tern's alerts (a failing check, a rollback, a stale data plane, no controller leader) to this Alertmanager's v2 API, e.g. http://127.0.0.1:9093",
    )
    .option(
      '--prometheus-url <url>',
      'the Prometheus that Prometheus-sourced services and custom checks (analysis.checks) read unless they name their own, e.g. http://127.0.0.1:9090',
    )
    .option(
      '--drain-timeout <duration>',
      "on SIGTERM/SIGINT: how long the built-in gateway's requests in flight may finish before the rest are cut (default: 30s)",
      parseDurationFlag,
    )
    .option(
      '--lease-ttl <duration>',
      'leader lease of the release controller: after a leader dies, another server sharing the database takes over within this time; more than 2s (default 3s)',
      parseLeaseTtl,
    )
    .option(
      '--apply-timeout <duration>',
      "how long a release step waits for every live data plane carrying the service to apply its weight before the release pauses, e.g. 30s (default 30s); the step's hold starts once they have",
      parseDurationFlag,
    )
    .addOption(logLevelOption())
    .option('--log-file <file>', 'append JSON logs to this file instead of stderr');
  addLimitOptions(command)
    .addHelpText(
      'after',
      '\nEnvironment:\n  TERN_ADMIN_TOKEN      use this secret as the admin token instead of generating one\n  TERN_STORE_URL        same as --store (keeps a database password off the command line)\n  TERN_WEBHOOK_SECRET   sign webhooks with this secret (give every server sharing a database the same one)\n  TERN_WEBHOOK_ALLOW    same as --webhook-allow, entries separated by commas or spaces (the flags win when both are given)\n  TERN_TLS_CERT, TERN_TLS_KEY  same as --tls-cert, --tls-key\n  TERN_LOG_LEVEL        same as --log-level\n\nSIGHUP re-reads --tls-cert and --tls-key (open connections keep theirs); without TLS it ends the process.',
    )
    .action(async (flags: ServerFlags, cmd: Command) => {
      const output = cmd.optsWithGlobals<{ output: OutputFormat }>().output;
      const tls = tlsFiles(flags);
      const drainTimeout = flags.drainTimeout ?? DEFAULT_DRAIN_MS;
      const logger = createLogger(flags);
      // Loaded here so client commands do not pay for Fastify and SQLite at startup.
      const { startServer } = await import('../../main.js');
      const server = await startServer({
        dataDir: flags.dataDir,
        store: flags.store ?? (process.env.TERN_STORE_URL || undefined),
        host: flags.host,
        apiPort: flags.apiPort,
        gatewayPort: flags.gatewayPort,
        dataPlane: flags.dataPlane,
        exposeVersionHeader: flags.exposeVersionHeader,
        trustedProxies: flags.trustedProxy ?? [],
        metricsPublic: flags.metricsPublic,
        ...(flags.auditRetention === undefined ? {} : { auditRetentionMs: flags.auditRetention }),
        gatewayLimits: limitsFrom(flags),
        gatewayWarmUpRequests: warmUpFrom(flags),
        drainTimeoutMs: drainTimeout,
        ...(flags.leaseTtl === undefined ? {} : { leaseTtlMs: flags.leaseTtl }),
        ...(flags.applyTimeout === undefined ? {} : { applyTimeoutMs: flags.applyTimeout }),
        adminToken: process.env.TERN_ADMIN_TOKEN,
        webhookAllow: webhookAllowOf(flags),
        alertmanagerUrl: flags.alertmanagerUrl,
        prometheusUrl: flags.prometheusUrl,
        logger,
        tls,
      }).catch((err: unknown) => {
        throw explainStartFailure(err, flags);
      });
      announce(io, output, server, flags.dataDir);
      const stopReloading = server.reloadTls ? reloadOnSighup(server.reloadTls, logger) : () => undefined;
      const signal = await nextShutdownSignal(io);
      stopReloading();
      logger.info({ signal, drainTimeoutMs: drainTimeout }, 'shutting down: draining the gateway, then the API');
      const limit = drainTimeout + SHUTDOWN_GRACE_MS;
      const timer = setTimeout(() => {
        io.err(`error: shutdown did not finish within ${limit / 1000}s; exiting anyway`);
        process.exit(1);
      }, limit);
      timer.unref();
      await server.close();
      clearTimeout(timer);
      if (output === 'table') io.out('Tern stopped.');
    });
}

function announce(
  io: Io,
  output: OutputFormat,
  server: {
    apiUrl: string;
    gatewayUrl: string | null;
    gatewayAdminUrl: string | null;
    adminTokenFile: string | null;
    adminTokenFromEnv: boolean;
    generatedAdminToken: string | null;
    store: 'sqlite' | 'postgres';
  },
  dataDir: string,
): void {
  if (output === 'json') {
    // One line, so a supervisor script can read it with a line reader.
    return io.out(
      JSON.stringify({
        apiUrl: server.apiUrl,
        gatewayUrl: server.gatewayUrl,
        gatewayAdminUrl: server.gatewayAdminUrl,
        adminTokenFile: server.adminTokenFile,
        adminToken: server.generatedAdminToken,
        dataDir: path.resolve(dataDir),
        store: server.store,
      }),
    );
  }
  io.out(`Tern API listening on ${server.apiUrl}`);
  if (server.gatewayUrl === null) io.out('No built-in gateway (--data-plane none): external data planes carry user traffic');
  else io.out(`Tern gateway listening on ${server.gatewayUrl} (metrics: ${server.gatewayAdminUrl ?? 'off'}/metrics)`);
  if (server.generatedAdminToken) {
    io.out(`Admin token (generated now and shown only this once; also saved to ${server.adminTokenFile}, mode 0600):`);
    io.out(`  ${server.generatedAdminToken}`);
  } else if (server.adminTokenFromEnv) {
    io.out('Admin token: the value of TERN_ADMIN_TOKEN');
  } else if (server.adminTokenFile) {
    io.out(`Admin token: in ${server.adminTokenFile}`);
  } else if (server.store === 'postgres') {
    io.out('Admin token: the one the first server on this database created (or set TERN_ADMIN_TOKEN)');
  } else {
    io.out(
      `Admin token: an admin token exists but ${path.join(path.resolve(dataDir), 'admin.token')} is gone; use an admin token you kept, or restart with TERN_ADMIN_TOKEN set`,
    );
  }
  io.out(`Data directory: ${path.resolve(dataDir)}${server.store === 'postgres' ? ' (state in PostgreSQL)' : ''}`);
  io.out('Press Ctrl+C to stop.');
}

/** `--lease-ttl`: the controller renews its lease every second, so a lease must outlast two ticks. */
function parseLeaseTtl(value: string): number {
  const ms = parseDurationFlag(value);
  if (ms <= 2_000) throw new InvalidArgumentError(`a lease must be longer than 2s (the controller renews it every second), got ${value}`);
  return ms;
}

/** The allow-list from --webhook-allow, else TERN_WEBHOOK_ALLOW; a bad entry fails here, naming where it came from. */
function webhookAllowOf(flags: ServerFlags): string[] {
  const fromFlags = flags.webhookAllow !== undefined;
  const list = flags.webhookAllow ?? (process.env.TERN_WEBHOOK_ALLOW ?? '').split(/[\s,]+/).filter(Boolean);
  try {
    compileWebhookPolicy(list, fromFlags ? '--webhook-allow' : 'TERN_WEBHOOK_ALLOW');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return list;
}

/** Turns the usual startup failures into one actionable line. */
function explainStartFailure(err: unknown, flags: ServerFlags): unknown {
  err = explainTls(err);
  const e = err as { code?: string; message?: string };
  if (e.code === 'EADDRINUSE') {
    const port = /:(\d+)$/.exec(e.message ?? '')?.[1];
    const flag = port === String(flags.gatewayPort) ? '--gateway-port' : '--api-port';
    return new CliError(
      `port ${port ?? flags.apiPort} on ${flags.host} is already in use; stop what holds it or pick another with ${flag}`,
    );
  }
  if (e.code === 'EADDRNOTAVAIL') return new CliError(`cannot listen on ${flags.host}: no such local address (--host)`);
  if (e.code === 'EACCES' || e.code === 'EPERM')
    return new CliError(`permission denied: ${e.message ?? ''} (check --data-dir and --api-port)`);
  if (e.code === 'ENOTDIR' || e.code === 'EEXIST') return new CliError(`--data-dir ${flags.dataDir} is not usable: ${e.message ?? ''}`);
  return err;
}
