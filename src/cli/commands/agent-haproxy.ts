/**
 * `tern agent haproxy`: drives an HAProxy 2.6 as a Tern data plane. It starts
 * HAProxy (master-worker, in its own session) or adopts the one its state directory records,
 * follows the control plane's routing table through the reconciler, and pushes evidence read
 * from HAProxy (exact counters, sampled latency). Stopping the agent leaves HAProxy serving
 * the last table (fail static); `--stop-proxy` stops it too.
 */
import { mkdirSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { addAgentOptions, agentSettings, type AgentFlags } from '../agent-flags.js';
import { UsageError } from '../errors.js';
import { createLogger, nextShutdownSignal } from '../lifecycle.js';
import { processIo, type Io, type OutputFormat } from '../output.js';
import { parseDurationFlag, parsePositiveInt } from '../parse.js';

interface HaproxyFlags extends AgentFlags {
  readonly haproxyBin: string;
  readonly listen: string;
  readonly sample: number;
  readonly evidence: boolean;
  readonly healthPath?: string;
  readonly keepaliveTimeout?: number;
  readonly threads?: number;
  readonly stopProxy: boolean;
}

/** `host:port` (IPv6 as `[::1]:8080`). @throws UsageError */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65_535)) throw new UsageError(`--listen: expected host:port (e.g. 0.0.0.0:8080), got "${value}"`);
  return { host: m[1] ?? m[2]!, port };
}

/** A thread count, 1–64 (HAProxy 2.6 allows at most 64 threads per process). @throws InvalidArgumentError */
function parseThreads(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 64)
    throw new InvalidArgumentError(`expected a thread count from 1 to 64, got "${value}"`);
  return n;
}

/** Registers `tern agent haproxy` under `agent`. */
export function registerAgentHaproxyCommand(agent: Command, io: Io = processIo): void {
  const command = agent
    .command('haproxy')
    .description('drive an HAProxy 2.6 as a Tern data plane: routing by the control plane, evidence back');
  addAgentOptions(command, 'haproxy')
    .option('--haproxy-bin <file>', 'the haproxy binary', 'haproxy')
    .option('--listen <host:port>', 'where HAProxy takes user traffic', '127.0.0.1:8080')
    .option('--sample <n>', 'log one request in N for the latency evidence (requests and errors are always exact)', parsePositiveInt, 10)
    .option('--no-evidence', 'deliver no evidence (no counters read, no latency log)')
    .option('--health-path <path>', 'HAProxy checks every endpoint at this path')
    .option(
      '--keepalive-timeout <duration>',
      'how long HAProxy keeps an idle keep-alive connection (default: 75s, as tern gateway)',
      parseDurationFlag,
    )
    .option(
      '--threads <n>',
      "HAProxy's threads (nbthread; default one per CPU): 1 when several HAProxy processes share the cores",
      parseThreads,
    )
    .option('--stop-proxy', 'on SIGINT/SIGTERM stop HAProxy too (gracefully) instead of leaving it serving', false)
    .addHelpText(
      'after',
      '\nThe token must have the gateway role: tern token create edge-hap --role gateway\nRegex match rules are not supported on HAProxy (the control plane refuses them for services this data plane carries).',
    )
    .action(async (flags: HaproxyFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ url?: string; token?: string; ca?: string; output: OutputFormat }>();
      const settings = agentSettings(flags, globals, 'haproxy');
      const listen = parseListen(flags.listen);
      const logger = createLogger(flags);
      mkdirSync(settings.stateDir, { recursive: true, mode: 0o700 });
      const { startHaproxyDataPlane } = await import('../../providers/routers/haproxy/data-plane.js');
      const { startReconciler } = await import('../../providers/routers/reconciler.js');
      const { onlyServices } = await import('../../providers/routers/only-services.js');
      const plane = await startHaproxyDataPlane({
        name: settings.name,
        dir: settings.stateDir,
        listen,
        bin: flags.haproxyBin,
        evidence: flags.evidence,
        sampleEvery: flags.sample,
        ...(flags.healthPath === undefined ? {} : { healthPath: flags.healthPath }),
        ...(flags.keepaliveTimeout === undefined ? {} : { keepAliveTimeoutMs: flags.keepaliveTimeout }),
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        logger: logger.child({ component: 'haproxy' }),
      });
      const sync = startReconciler({
        router: onlyServices(plane.router, settings.services),
        ...(plane.source ? { source: plane.source } : {}),
        url: settings.urls,
        token: settings.token,
        dataPlane: settings.name,
        ...(settings.services === null ? {} : { services: settings.services }),
        logger: logger.child({ component: 'reconciler' }),
        ...(settings.trust ? { trust: settings.trust } : {}),
      });
      const url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
      const info = {
        dataPlane: settings.name,
        url,
        haproxyPid: plane.router.masterPid,
        stateDir: settings.stateDir,
        agentPid: process.pid,
      };
      if (globals.output === 'json') io.out(JSON.stringify(info));
      else {
        io.out(`Tern agent for HAProxy (pid ${info.haproxyPid}) serving ${url} as data plane "${settings.name}"`);
        io.out(`Following the control plane at ${settings.urls.join(', ')}; press Ctrl+C to stop (HAProxy keeps serving).`);
      }
      await nextShutdownSignal(io);
      await sync.stop();
      await plane.close({ stopProxy: flags.stopProxy });
      if (globals.output === 'table')
        io.out(flags.stopProxy ? 'Tern agent and HAProxy stopped.' : 'Tern agent stopped; HAProxy keeps serving the last table.');
    });
}

/** Registers the `tern agent` group and its data planes. */
export function registerAgentCommands(program: Command, io: Io = processIo): void {
  const agent = program.command('agent').description('drive an external proxy as a Tern data plane');
  registerAgentHaproxyCommand(agent, io);
}
