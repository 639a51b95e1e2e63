/**
 * The production topology of docs/operations.md as real processes, for availability tests and
 * benchmarks: two `tern server`s sharing one PostgreSQL database (a fresh database on
 * `baseUrl`, dropped by `destroy`), and two standalone `tern gateway`s each given both servers'
 * URLs. Every process keeps its port across restarts, so a restarted server is found again by
 * the gateways and a restarted gateway by the load balancer (here, the balancing client).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { BIN, cleanEnv, startNode, startVersionApp, type Proc } from './processes.js';

export interface ClusterServer {
  proc: Proc;
  readonly apiPort: number;
  readonly apiUrl: string;
  readonly dir: string;
}

export interface ClusterGateway {
  proc: Proc;
  readonly port: number;
  readonly url: string;
}

export interface TernCluster {
  readonly dbUrl: string;
  readonly servers: ClusterServer[];
  readonly gateways: ClusterGateway[];
  readonly stableUrl: string;
  readonly adminToken: string;
  /** Admin-token JSON call through whichever server answers first (the other may be restarting). */
  api<T>(method: string, url: string, body?: unknown): Promise<{ status: number; json: T }>;
  /** The controller holding a live lease (`controller-<pid>`), or undefined. */
  leaseHolder(): Promise<string | undefined>;
  /**
   * Watches the lease from a process of its own (polling every 100 ms), so the times it records
   * are not delayed by a busy test process: `at(holder, after)` is when it first saw `holder` lead
   * at or after `after` (epoch ms).
   */
  watchLease(): { at(holder: string, after?: number): number | undefined; stop(): Promise<void> };
  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code. */
  stopServer(s: ClusterServer, signal: NodeJS.Signals): Promise<number | null>;
  /** Starts a stopped server again on its port and data directory; resolves once /readyz says 200. */
  startServer(s: ClusterServer): Promise<void>;
  stopGateway(g: ClusterGateway, signal: NodeJS.Signals): Promise<number | null>;
  /** Starts a stopped gateway again on its port; resolves once it listens (it has a table). */
  startGateway(g: ClusterGateway): Promise<void>;
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  /** A PostgreSQL URL whose role may create databases (TERN_TEST_POSTGRES_URL). */
  baseUrl: string;
  leaseTtl: string;
  drainTimeout?: string;
  /** `--workers` of each gateway (default 1: no cluster). */
  gatewayWorkers?: number;
  /** Node flags for the gateways (a cluster's workers inherit them), e.g. `--heapsnapshot-signal=SIGUSR2`. */
  gatewayNodeArgs?: readonly string[];
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await probe().catch(() => false)) return;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Starts both servers (the first leads), the stable app v1, service `shop`, and both gateways. */
export async function startTernCluster(options: ClusterOptions): Promise<TernCluster> {
  const dbName = `tern_avail_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: options.baseUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const dbUrl = Object.assign(new URL(options.baseUrl), { pathname: `/${dbName}` }).toString();
  const adminToken = randomBytes(24).toString('base64url');
  const drain = options.drainTimeout ?? '10s';
  const serverEnv = cleanEnv({ TERN_STORE_URL: dbUrl, TERN_ADMIN_TOKEN: adminToken, TERN_WEBHOOK_SECRET: randomBytes(24).toString('hex') });
  const dirs: string[] = [];
  const servers: ClusterServer[] = [];
  const gateways: ClusterGateway[] = [];
  let gatewayToken = '';

  const spawnServer = async (s: ClusterServer): Promise<void> => {
    const args = [BIN, 'server', '--data-dir', s.dir, '--api-port', String(s.apiPort), '--gateway-port', '0'];
    s.proc = startNode([...args, '--lease-ttl', options.leaseTtl, '--drain-timeout', drain, '--log-level', 'warn'], serverEnv);
    await s.proc.waitFor(/Tern API listening on (\S+)/, 30_000);
    await eventually(`${s.apiUrl}/readyz`, async () => (await fetch(`${s.apiUrl}/readyz`)).status === 200, 30_000);
  };
  const spawnGateway = async (g: ClusterGateway): Promise<void> => {
    const urls = servers.flatMap((s) => ['--control-plane', s.apiUrl]);
    const args = [BIN, 'gateway', ...urls, '--port', String(g.port), '--state-file', path.join(dirs[0]!, `gw-${g.port}.json`)];
    if ((options.gatewayWorkers ?? 1) > 1) args.push('--workers', String(options.gatewayWorkers));
    const node = options.gatewayNodeArgs ?? [];
    g.proc = startNode([...node, ...args, '--drain-timeout', drain, '--log-level', 'warn'], cleanEnv({ TERN_TOKEN: gatewayToken }));
    await g.proc.waitFor(/Tern gateway listening on (\S+)/, 30_000);
  };
  const leaseHolder = async (): Promise<string | undefined> => {
    const client = new Client({ connectionString: dbUrl });
    await client.connect();
    try {
      const sql = `select holder from leases where name = 'release-controller' and expires_at > $1`;
      const { rows } = await client.query<{ holder: string }>(sql, [Date.now()]);
      return rows[0]?.holder;
    } finally {
      await client.end();
    }
  };
  const watchLease = (): { at(holder: string, after?: number): number | undefined; stop(): Promise<void> } => {
    const script = `const { Client } = require('pg');
      const c = new Client({ connectionString: process.env.DB }); let last = '';
      c.connect().then(() => setInterval(async () => {
        const { rows } = await c.query("select holder from leases where name = 'release-controller' and expires_at > $1", [Date.now()]);
        const h = rows[0]?.holder ?? '';
        if (h !== last) { last = h; console.log(Date.now() + ' ' + (h || '-')); }
      }, 100));`;
    const proc = startNode(['-e', script], cleanEnv({ DB: dbUrl }));
    return {
      at: (holder, after = 0) => {
        const line = proc
          .output()
          .split('\n')
          .find((l) => l.endsWith(` ${holder}`) && Number(l.split(' ')[0]) >= after);
        return line === undefined ? undefined : Number(line.split(' ')[0]);
      },
      stop: async () => void (await proc.kill('SIGKILL')),
    };
  };
  const api = async <T>(method: string, url: string, body?: unknown): Promise<{ status: number; json: T }> => {
    let lastError: unknown;
    for (const s of servers) {
      try {
        const res = await fetch(`${s.apiUrl}${url}`, {
          method,
          headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        if (res.status === 503) throw new Error(`${s.apiUrl}: 503 ${text}`);
        return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`no server answered ${method} ${url}`, { cause: lastError });
  };

  for (let i = 0; i < 2; i++) {
    const dir = await mkdtemp(path.join(tmpdir(), 'tern-avail-'));
    dirs.push(dir);
    const apiPort = await freePort();
    const s: ClusterServer = { proc: undefined as unknown as Proc, apiPort, apiUrl: `http://127.0.0.1:${apiPort}`, dir };
    servers.push(s);
    await spawnServer(s);
    // The first server leads: the tests know which one to kill.
    if (i === 0)
      await eventually('the first server to lead', async () => (await leaseHolder()) === `controller-${s.proc.child.pid}`, 30_000);
  }
  const stable = await startVersionApp('v1');
  const created = await api('POST', '/api/v1/services', {
    name: 'shop',
    match: { pathPrefix: '/' },
    stickiness: { header: 'x-user-id' },
    stable: { version: 'v1', endpoints: [stable.url] },
  });
  if (created.status !== 201) throw new Error(`creating the service: ${created.status} ${JSON.stringify(created.json)}`);
  gatewayToken = (await api<{ secret: string }>('POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' })).json.secret;
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const g: ClusterGateway = { proc: undefined as unknown as Proc, port, url: `http://127.0.0.1:${port}` };
    gateways.push(g);
    await spawnGateway(g);
  }

  return {
    dbUrl,
    servers,
    gateways,
    stableUrl: stable.url,
    adminToken,
    api,
    leaseHolder,
    watchLease,
    stopServer: (s, signal) => s.proc.kill(signal),
    startServer: spawnServer,
    stopGateway: (g, signal) => g.proc.kill(signal),
    startGateway: spawnGateway,
    async destroy() {
      await Promise.all([...servers.map((s) => s.proc?.kill('SIGKILL')), ...gateways.map((g) => g.proc?.kill('SIGKILL'))]);
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
      const client = new Client({ connectionString: options.baseUrl });
      await client.connect();
      await client.query(`drop database if exists ${dbName} with (force)`);
      await client.end();
    },
  };
}
