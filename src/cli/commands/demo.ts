/**
 * `tern demo` (and `npm start`): the all-in-one server with something to watch. It starts
 * `tern server` in this process over a fresh `./.tern-demo`, a small shop service whose new
 * versions are deployed by the `process` driver, and simulated users; then, visibly, a healthy
 * release that gets promoted and a faulty one that the controller rolls back by itself. It keeps
 * serving afterwards so you can start your own releases; Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { createClient, type TernClient } from '../client.js';
import { createLogger, nextShutdownSignal } from '../lifecycle.js';
import { processIo, type Io, type OutputFormat } from '../output.js';
import { parsePort, parsePositiveInt } from '../parse.js';
import { UsageError } from '../errors.js';
import { stopGroup } from '../../control/drivers/process-group.js';
import { startTraffic, type Traffic } from '../demo/traffic.js';
import { follow } from '../watch/follow.js';
import { changesBetween, eventText } from '../watch/events.js';
import { finalLine, outcomeOf } from '../watch/outcome.js';

interface DemoFlags {
  readonly dataDir: string;
  readonly host: string;
  readonly apiPort: number;
  readonly gatewayPort: number;
  readonly rps: number;
  readonly dataPlane: 'builtin' | 'haproxy' | 'nginx';
}

const SHOP_APP = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'demo', 'shop-app.js');
const SERVICE = 'demo-shop';

/** Registers `tern demo`. */
export function registerDemoCommand(program: Command, io: Io = processIo): void {
  program
    .command('demo')
    .description('run the all-in-one server with a demo service, simulated users, and two releases: one promoted, one rolled back')
    .option('--data-dir <dir>', "the demo's own data directory, emptied at start", './.tern-demo')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--api-port <port>', 'API port; 0 picks a free one', parsePort, 7070)
    .option('--gateway-port <port>', 'gateway port; 0 picks a free one', parsePort, 8080)
    .option('--rps <n>', 'simulated requests per second', parsePositiveInt, 150)
    .addOption(
      new Option(
        '--data-plane <kind>',
        'what carries the simulated users: the built-in gateway, HAProxy (needs haproxy 2.6+) or NGINX (needs nginx with njs)',
      )
        .choices(['builtin', 'haproxy', 'nginx'])
        .default('builtin'),
    )
    .action(async (flags: DemoFlags, cmd: Command) => {
      if (cmd.optsWithGlobals<{ output: OutputFormat }>().output === 'json') {
        throw new UsageError(
          'tern demo is a guided tour written for people and has no --output json; script the same steps with tern server and the other commands, which all accept -o json',
        );
      }
      return runDemo(flags, io);
    });
}

async function runDemo(flags: DemoFlags, io: Io): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  await rm(dataDir, { recursive: true, force: true });
  const logFile = path.join(dataDir, 'server.log');
  const { startServer } = await import('../../main.js');
  const server = await startServer({
    dataDir,
    host: flags.host,
    apiPort: flags.apiPort,
    gatewayPort: flags.gatewayPort,
    logger: createLogger({ logLevel: 'info', logFile }),
    adminToken: undefined,
  });
  const token = server.generatedAdminToken!;
  const client = createClient({ url: server.apiUrl, token });
  const stable: ChildProcess[] = [];
  let traffic: Traffic | null = null;
  let external: ExternalPlane | null = null;
  const stop = async (): Promise<void> => {
    await traffic?.stop();
    await external?.stop();
    // A server keeps the instances its process driver started when it stops (a restarted one
    // adopts them); the demo is leaving for good, so it stops them itself, after the server.
    const started = await deployedProcessGroups(client).catch(() => []);
    await server.close();
    await Promise.all(started.map((pgid) => stopGroup(pgid, 3000)));
    for (const child of stable) child.kill('SIGTERM');
    await client.close();
  };
  // Listen for Ctrl-C from the start: the process driver's instances run in their own process
  // groups, so a signal must always go through `stop()` or they would outlive the demo.
  const interrupted = nextShutdownSignal(io).then(() => io.out('Stopping the demo…'));
  try {
    if (flags.dataPlane !== 'builtin') {
      external = await startExternal(flags.dataPlane, { apiUrl: server.apiUrl, client, dataDir, host: flags.host });
      io.out(`${external.label} data plane on ${external.url} (the simulated users go through it)`);
    }
    // The demo's server always runs the built-in gateway too (dataPlane defaults to builtin).
    const shown = { apiUrl: server.apiUrl, gatewayUrl: external?.url ?? server.gatewayUrl ?? '' };
    await Promise.race([interrupted, showcase(flags, io, shown, client, stable, (t) => (traffic = t))]);
    await interrupted;
  } finally {
    await stop();
  }
  io.out('Demo stopped; every process it started has exited.');
}

interface ExternalPlane {
  readonly label: string;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the demo's external data plane, driven as its `tern agent` would, with a gateway token of its own. */
async function startExternal(
  kind: 'haproxy' | 'nginx',
  opts: { apiUrl: string; client: TernClient; dataDir: string; host: string },
): Promise<ExternalPlane> {
  const { secret } = await opts.client.createToken(`demo-${kind}`, 'gateway');
  const logger = createLogger({ logLevel: 'info', logFile: path.join(opts.dataDir, `${kind}-agent.log`) });
  const common = { apiUrl: opts.apiUrl, token: secret, dataDir: opts.dataDir, host: opts.host, logger };
  switch (kind) {
    case 'haproxy': {
      const { startHaproxyDemoDataPlane } = await import('../demo/haproxy-data-plane.js');
      return { label: 'HAProxy', ...(await startHaproxyDemoDataPlane(common)) };
    }
    case 'nginx': {
      const { startNginxDataPlane } = await import('../demo/nginx-data-plane.js');
      return { label: 'NGINX', ...(await startNginxDataPlane(common)) };
    }
    default: {
      const never: never = kind;
      throw new UsageError(`--data-plane: unknown kind ${String(never)}`);
    }
  }
}

/** Waits (at most 10 s) until the data plane answers for the service: HAProxy and NGINX reload for a new one. */
async function serving(gatewayUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${gatewayUrl}/`, { headers: { 'x-user-id': 'demo-probe' } }).catch(() => null);
    const body = (await res?.json().catch(() => null)) as { version?: string } | null;
    if (body?.version !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sets up the service and traffic, runs the two releases, then prints what to try next. */
async function showcase(
  flags: DemoFlags,
  io: Io,
  server: { apiUrl: string; gatewayUrl: string },
  client: TernClient,
  stable: ChildProcess[],
  started: (traffic: Traffic) => void,
): Promise<void> {
  const logFile = path.join(path.resolve(flags.dataDir), 'server.log');
  io.out(`Tern demo: API ${server.apiUrl}, gateway ${server.gatewayUrl}, logs in ${logFile}`);
  const endpoints: string[] = [];
  for (const shop of await Promise.all([startShop('v1'), startShop('v1')])) {
    stable.push(shop.child);
    endpoints.push(shop.url);
  }
  await client.createService({
    name: SERVICE,
    match: { pathPrefix: '/' },
    stickiness: { header: 'x-user-id' },
    stable: { version: 'v1', endpoints },
    deploy: {
      driver: 'process',
      command: `${process.execPath} ${SHOP_APP} --port {port} --version {version}`,
      instances: 2,
      readiness: { path: '/healthz', timeout: '20s' },
      retireAfter: '5s',
    },
  });
  io.out(
    `Service ${SERVICE}: v1 on ${endpoints.join(', ')}; ${flags.rps} simulated requests a second from 2,000 users through the gateway.`,
  );
  await serving(server.gatewayUrl);
  const traffic = startTraffic(server.gatewayUrl, { rps: flags.rps, users: 2000 });
  started(traffic);
  const ticker = setInterval(() => io.out(trafficLine(traffic)), 15_000);
  try {
    io.out('\n1) A healthy version, v2: 10% of users for 20 s, then 50% for 20 s, then everyone.');
    await runRelease(client, io, { version: 'v2', steps: '10:20s,50:20s,100', reason: 'demo: healthy release' });
    io.out('\n2) A faulty version, v3 (8% errors, twice as slow): the controller should roll it back by itself.');
    await runRelease(client, io, { version: 'v3', steps: '10:1m,50:1m,100', reason: 'demo: faulty release' });
  } finally {
    clearInterval(ticker);
  }
  printNext(io, server.apiUrl, path.join(path.resolve(flags.dataDir), 'admin.token'), server.gatewayUrl);
  setInterval(() => io.out(trafficLine(traffic)), 60_000).unref();
}

async function runRelease(client: TernClient, io: Io, body: { version: string; steps: string; reason: string }): Promise<void> {
  const started = await client.startRelease(SERVICE, body);
  io.out(`   release ${started.id} started: ${started.status}`);
  let previous: Parameters<typeof changesBetween>[0] = null;
  const last = await follow({
    client,
    releaseId: started.id,
    signal: new AbortController().signal,
    connected: true,
    onSnapshot: (snapshot) => {
      for (const e of changesBetween(previous, snapshot, 'started')) if (e.event !== 'started') io.out(`   ${eventText(e, Date.now())}`);
      previous = snapshot;
    },
  });
  if (last) {
    const outcome = outcomeOf(last.release.status);
    io.out(`   ${outcome ? finalLine(outcome, last.release) : last.release.status}`);
  }
}

/** Process groups of every instance the process driver started for the demo service. */
async function deployedProcessGroups(client: TernClient): Promise<number[]> {
  const { releases } = await client.listReleases(SERVICE, { limit: 100 });
  return releases
    .flatMap((r) => (r as { deployment?: { instances?: Array<{ pid?: number | null }> } | null }).deployment?.instances ?? [])
    .flatMap((i) => (typeof i.pid === 'number' ? [i.pid] : []));
}

function trafficLine(traffic: Traffic): string {
  const parts = [...traffic.take()].map(([v, c]) => `${v} ${c.requests} req (${c.errors} errors)`);
  return `   traffic, last interval: ${parts.join(', ') || 'none'}`;
}

function printNext(io: Io, apiUrl: string, tokenFile: string, gatewayUrl: string): void {
  io.out(`
Tern keeps running with the demo service. The dashboard and API are at ${apiUrl} (admin token in ${tokenFile}).
Try, in another terminal:
  export TERN_URL=${apiUrl} TERN_TOKEN=$(cat ${tokenFile})
  bin/tern service list
  bin/tern release start ${SERVICE} --version v4 --steps 10:20s,100 --wait      # a healthy one; the process driver starts it
  bin/tern release start ${SERVICE} --version v5-bad --steps 10:1m,100 --wait   # a faulty one: watch it get rolled back
  bin/tern audit --service ${SERVICE}
  curl -H 'x-user-id: alice' ${gatewayUrl}/checkout
Press Ctrl-C to stop everything.`);
}

/** Starts one shop instance on a free port; resolves with its URL once it listens. */
function startShop(version: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHOP_APP, '--port', '0', '--version', version], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`the demo shop exited (${code}) before it listened`)));
  });
}
