/**
 * The processes under test in the scale bench, all real: one NGINX with two `return 200`
 * backends (stable answers `v1`, canary `v2`; 75 s keep-alive, one worker per ~14,000 direct
 * connections so the direct baseline fits in 20,000 descriptors per worker), a `tern server`
 * (SQLite) as the control plane, and `tern gateway --workers N` from bin/tern (or HAProxy data
 * planes, each under its `tern agent haproxy`). The service and
 * the release are made with the `tern` CLI, as an operator would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/tern-cluster.js';
import { BIN, cleanEnv, startNode, type Proc } from '../../test/support/processes.js';

const run = promisify(execFile);

export interface Backends {
  readonly proc: ChildProcess;
  readonly stablePort: number;
  readonly canaryPort: number;
  readonly workers: number;
  stop(): Promise<void>;
}

/** NGINX serving `v1` on one port and `v2` on another, `workers` worker processes (reuseport spreads connections). */
export async function startBackends(dir: string, workers: number): Promise<Backends> {
  const [stablePort, canaryPort] = [await freePort(), await freePort()];
  const server = (port: number, body: string): string =>
    `  server { listen 127.0.0.1:${port} reuseport backlog=4096; location / { default_type text/plain; return 200 "${body}\\n"; } }`;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  const conf = `worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 19500; multi_accept on; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
${temp}
${server(stablePort, 'v1')}
${server(canaryPort, 'v2')}
}
`;
  await writeFile(path.join(dir, 'nginx.conf'), conf);
  const proc = spawn('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${canaryPort}/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}; see ${dir}/error.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    stablePort,
    canaryPort,
    workers,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGQUIT');
      await exited;
    },
  };
}

export interface ControlPlane {
  readonly proc: Proc;
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly dir: string;
  /** Runs `tern ARGS --output json` against this server as the admin; resolves with the parsed output. */
  tern<T>(args: readonly string[]): Promise<T>;
  stop(): Promise<void>;
}

/** `tern server` on SQLite in a temporary directory, with service `shop` (stable v1 = NGINX's stable port) made by the CLI. */
export async function startControlPlane(stablePort: number): Promise<ControlPlane> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tern-scale-server-'));
  const adminToken = randomBytes(24).toString('base64url');
  const args = [BIN, 'server', '--data-dir', dir, '--api-port', '0', '--gateway-port', '0', '--log-level', 'warn'];
  const proc = startNode(args, cleanEnv({ TERN_ADMIN_TOKEN: adminToken }));
  const [, apiUrl] = await proc.waitFor(/Tern API listening on (\S+)/, 60_000);
  const env = cleanEnv({ TERN_URL: apiUrl!, TERN_TOKEN: adminToken });
  const tern = async <T>(a: readonly string[]): Promise<T> => {
    const { stdout } = await run(process.execPath, [BIN, ...a, '--output', 'json'], { env, timeout: 60_000 });
    return (stdout.trim() === '' ? null : JSON.parse(stdout)) as T;
  };
  await tern([
    'service',
    'create',
    'shop',
    '--path-prefix',
    '/',
    '--sticky-header',
    'x-user-id',
    '--stable-version',
    'v1',
    '--endpoint',
    `http://127.0.0.1:${stablePort}`,
  ]);
  return {
    proc,
    apiUrl: apiUrl!,
    adminToken,
    dir,
    tern,
    stop: async () => {
      await proc.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Gateway {
  readonly proc: Proc;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * `tern gateway --workers N --balance B` following `cp`; resolves once every worker listens.
 * `kernel` (the default): the workers accept from the shared socket; `primary`: the primary
 * accepts and passes each connection to the next worker (node:cluster's round robin).
 */
export async function startGateway(cp: ControlPlane, workers: number, balance: 'kernel' | 'primary'): Promise<Gateway> {
  const { secret } = await cp.tern<{ secret: string }>(['token', 'create', `scale-edge-${Date.now()}`, '--role', 'gateway']);
  const port = await freePort();
  const args = [BIN, 'gateway', '--control-plane', cp.apiUrl, '--port', String(port), '--workers', String(workers), '--balance', balance];
  const env = cleanEnv({ TERN_TOKEN: secret });
  const nodeArgs = (process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = startNode([...nodeArgs, ...args, '--state-file', path.join(cp.dir, 'gateway.json'), '--log-level', 'warn'], env);
  await proc.waitFor(/Tern gateway listening on (\S+)/, 120_000);
  const deadline = Date.now() + 120_000;
  while ((proc.output().match(/gateway worker \d+ \(pid \d+\) listening/g) ?? []).length < workers) {
    if (Date.now() > deadline) throw new Error(`only some of ${workers} gateway workers listen:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, port, pid: proc.child.pid!, stop: async () => void (await proc.kill('SIGTERM')) };
}

export interface HaproxyPlane {
  readonly port: number;
  /** The `tern agent haproxy` processes and the HAProxy master each started (its workers are the master's children). */
  readonly agents: readonly number[];
  readonly masters: readonly number[];
  stop(): Promise<void>;
}

/**
 * `count` HAProxy data planes on one port, each started by its own `tern agent haproxy`
 * following `cp` (HAProxy binds with SO_REUSEPORT, so the kernel spreads connections over
 * them). Several because one HAProxy holds at most about half its open-files limit in client
 * connections (it reserves a server-side descriptor per connection): ~9,900 here. Resolves once
 * every HAProxy has applied a table with the service.
 */
export async function startHaproxyPlane(cp: ControlPlane, count: number, threads: number): Promise<HaproxyPlane> {
  const { secret } = await cp.tern<{ secret: string }>(['token', 'create', `scale-hap-${Date.now()}`, '--role', 'gateway']);
  const port = await freePort();
  const env = cleanEnv({ TERN_TOKEN: secret });
  const procs: Proc[] = [];
  const masters: number[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(procs.map((p) => p.kill('SIGTERM'))));
  const dirs = Array.from({ length: count }, (_, i) => path.join(cp.dir, `haproxy-${i}`));
  try {
    for (const [i, dir] of dirs.entries()) {
      const args = [BIN, 'agent', 'haproxy', '--control-plane', cp.apiUrl, '--listen', `127.0.0.1:${port}`, '--state-dir', dir];
      const proc = startNode(
        [...args, '--name', `scale-hap-${i}`, '--threads', String(threads), '--stop-proxy', '--log-level', 'warn', '--output', 'json'],
        env,
      );
      procs.push(proc);
      const [line] = await proc.waitFor(/\{.*"haproxyPid".*\}/, 60_000);
      masters.push((JSON.parse(line) as { haproxyPid: number }).haproxyPid);
    }
    const deadline = Date.now() + 60_000;
    for (const [i, dir] of dirs.entries()) {
      const file = path.join(dir, 'table.json');
      for (;;) {
        const table = await readFile(file, 'utf8').then(
          (t) => JSON.parse(t) as { routes?: Array<{ service: string }> },
          () => null,
        );
        if (table?.routes?.some((r) => r.service === 'shop')) break;
        if (Date.now() > deadline) throw new Error(`HAProxy ${i} did not apply the routing table within 60 s:\n${procs[i]!.errors()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, agents: procs.map((p) => p.child.pid!), masters, stop };
}

export interface ReleaseStep {
  readonly weight: number;
  /** When the CLI was run, and when it had answered (the move took effect in between). */
  readonly asked: number;
  readonly at: number;
  readonly how: string;
}

/** Drives the release 0 → 5 → 50 → 100% with the CLI, one move per call of `next()`. */
export function releaseDriver(cp: ControlPlane, canaryPort: number): { next(): Promise<ReleaseStep>; status(): Promise<string> } {
  let id = '';
  const moves: Array<() => Promise<string>> = [
    async () => {
      const steps = '5:1h,50:1h,100';
      const args = ['release', 'start', 'shop', '--version', 'v2', '--endpoint', `http://127.0.0.1:${canaryPort}`, '--steps', steps];
      id = (await cp.tern<{ id: string }>([...args, '--reason', 'scale bench'])).id;
      return `tern release start shop --version v2 --steps ${steps}`;
    },
    async () => {
      await cp.tern(['release', 'weight', id, '50', '--reason', 'scale bench']);
      return `tern release weight ${id} 50`;
    },
    async () => {
      await cp.tern(['release', 'promote', id, '--full', '--reason', 'scale bench']);
      return `tern release promote ${id} --full`;
    },
  ];
  const weights = [5, 50, 100];
  let i = 0;
  return {
    async next() {
      const move = moves[i];
      const weight = weights[i++];
      if (move === undefined || weight === undefined) throw new Error('the release has no further step');
      const asked = Date.now();
      const how = await move();
      return { weight, asked, at: Date.now(), how };
    },
    async status() {
      if (id === '') return 'not started';
      const r = await cp.tern<{ status: string; weight: number; reason: string | null }>(['release', 'status', id]);
      return `${r.status} at ${r.weight}%${r.reason ? ` (${r.reason})` : ''}`;
    },
  };
}
