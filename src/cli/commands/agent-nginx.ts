/**
 * `tern agent nginx`: runs beside NGINX and makes it a Tern data plane. It starts
 * NGINX (or adopts the one already running for --state-dir), watches the control plane's routing
 * table, applies it (state files for weights and rules, a graceful reload only for structure),
 * reports the applied version, and pushes per-version evidence read from NGINX's access log.
 * Stopping or killing the agent leaves NGINX serving its last table (fail static); a restart
 * re-renders the same files, so users see nothing.
 */
import type { Command } from 'commander';
import { addAgentOptions, agentSettings, type AgentFlags, type AgentSettings } from '../agent-flags.js';
import { UsageError } from '../errors.js';
import { createLogger, nextShutdownSignal } from '../lifecycle.js';
import { processIo, type Io, type OutputFormat } from '../output.js';

interface AgentNginxFlags extends AgentFlags {
  readonly nginxBin: string;
  readonly njsModule?: string;
  readonly listen: string;
  readonly workers: number;
  readonly evidence: boolean;
  readonly exposeVersionHeader: boolean;
  readonly stopProxy: boolean;
}

function parseListen(value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65_535)
    throw new UsageError(`--listen ${value}: expected host:port, e.g. 0.0.0.0:8080`);
  return value;
}

function parseWorkerCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers ${value}: expected an integer from 1 to 64`);
  return n;
}

/** The `agent` command group (shared with `tern agent haproxy`): found or created. */
export function agentGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'agent') ??
    program.command('agent').description('run beside an external proxy (HAProxy, NGINX) and drive it as a Tern data plane')
  );
}

/** Registers `tern agent nginx`. */
export function registerAgentNginxCommand(program: Command, io: Io = processIo): void {
  const command = agentGroup(program)
    .command('nginx')
    .description("run NGINX (1.22+ with njs) as a data plane that routes user traffic by the control plane's table");
  addAgentOptions(command, 'nginx')
    .option('--nginx-bin <file>', 'the nginx binary', 'nginx')
    .option('--njs-module <file>', 'ngx_http_js_module.so (default: the Debian/Ubuntu path)')
    .option('--listen <host:port>', 'where NGINX takes user traffic', parseListen, '127.0.0.1:8080')
    .option('--workers <n>', 'NGINX worker processes', parseWorkerCount, 1)
    .option('--no-evidence', 'write no access log and push no evidence windows')
    .option('--expose-version-header', 'add an x-tern-version header naming the version that answered', false)
    .option('--stop-proxy', 'on SIGINT/SIGTERM stop NGINX too (gracefully) instead of leaving it serving', false)
    .addHelpText(
      'after',
      '\nThe token must have the gateway role: tern token create edge-nginx --role gateway\nRegex match rules are refused (TERN_DATAPLANE_UNSUPPORTED): NGINX runs equals rules only.',
    )
    .action(async (flags: AgentNginxFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ url?: string; token?: string; ca?: string; output: OutputFormat }>();
      await runAgent(flags, agentSettings(flags, globals, 'nginx'), io, globals.output);
    });
}

async function runAgent(flags: AgentNginxFlags, cp: AgentSettings, io: Io, output: OutputFormat): Promise<void> {
  const logger = createLogger(flags);
  const { NginxRouter } = await import('../../providers/routers/nginx/nginx-router.js');
  const { NginxAccessLogSource } = await import('../../providers/metrics/nginx-access-log.js');
  const { startReconciler } = await import('../../providers/routers/reconciler.js');
  const router = await NginxRouter.open({
    stateDir: cp.stateDir,
    listen: flags.listen,
    bin: flags.nginxBin,
    workers: flags.workers,
    evidence: flags.evidence,
    exposeVersionHeader: flags.exposeVersionHeader,
    logger: logger.child({ component: 'nginx-agent' }),
    ...(flags.njsModule === undefined ? {} : { njsModule: flags.njsModule }),
    ...(cp.services === null ? {} : { services: cp.services }),
  });
  const source = flags.evidence
    ? new NginxAccessLogSource({
        name: cp.name,
        file: router.accessLogPath(),
        labelOf: (r, side) => router.labels.labelOf(r, side),
      })
    : undefined;
  const sync = startReconciler({
    router,
    ...(source === undefined ? {} : { source }),
    url: cp.urls,
    token: cp.token,
    dataPlane: cp.name,
    ...(cp.services === null ? {} : { services: cp.services }),
    logger: logger.child({ component: 'reconciler' }),
    ...(cp.trust === undefined ? {} : { trust: cp.trust }),
  });
  const pids = await router.pids();
  if (output === 'json')
    io.out(JSON.stringify({ listen: flags.listen, dataPlane: cp.name, nginxPid: pids[0] ?? null, controlPlane: cp.urls.join(',') }));
  else {
    io.out(`Tern NGINX agent: nginx (pid ${pids[0] ?? '?'}) serving on ${flags.listen}, routing version ${router.appliedVersion()}`);
    io.out(`Following the control plane at ${cp.urls.join(', ')}; press Ctrl+C to stop (NGINX keeps serving).`);
  }
  const signal = await nextShutdownSignal(io);
  logger.info({ signal }, 'nginx agent stopping');
  await sync.stop();
  await source?.close();
  await router.close();
  if (flags.stopProxy) await router.stopNginx();
  if (output === 'table')
    io.out(flags.stopProxy ? 'Tern NGINX agent and NGINX stopped.' : 'Tern NGINX agent stopped; NGINX keeps serving its last table.');
}
