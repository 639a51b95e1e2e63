/**
 * Tern on HAProxy for the data-plane bench: `startTernOnHaproxy` runs the HAProxy
 * data plane (src/providers/routers/haproxy) in a child Node process — the agent — with a
 * fixed routing table and no control plane: one service on `/`, stable and canary each one
 * endpoint, the sticky split at `weightBp` keyed by `x-user-id` (else the `tern_uid` cookie).
 * With `evidence`, HAProxy logs one request in 10 to the agent and the agent reads the counters
 * every second and builds the windows (drained and dropped each second, as a push would);
 * without, HAProxy routes and logs nothing. `stop()` stops the agent and HAProxy.
 *
 * Run directly it is the agent child:  node --import tsx bench/dataplane/tern-haproxy.ts '<json>'
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface TernOnHaproxyOptions {
  readonly stableUrl: string;
  readonly canaryUrl: string;
  /** Canary weight in basis points. */
  readonly weightBp: number;
  readonly evidence: boolean;
}

export interface TernOnHaproxy {
  readonly url: string;
  readonly agentPid?: number;
  readonly haproxyPid: number;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Starts the agent child and its HAProxy; resolves once HAProxy routes by the table. */
export async function startTernOnHaproxy(opts: TernOnHaproxyOptions): Promise<TernOnHaproxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-haproxy-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify({ ...opts, dir, port })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ haproxyPid: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the HAProxy agent exited (${String(code)}) before it was ready`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as { haproxyPid: number }));
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    ...(child.pid === undefined ? {} : { agentPid: child.pid }),
    haproxyPid: ready.haproxyPid,
    async stop() {
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The agent child: a fixed table, no control plane; SIGTERM stops HAProxy and exits. */
async function agentMain(arg: TernOnHaproxyOptions & { dir: string; port: number }): Promise<void> {
  const { pino } = await import('pino');
  const { startHaproxyDataPlane } = await import('../../src/providers/routers/haproxy/data-plane.js');
  const plane = await startHaproxyDataPlane({
    name: 'bench-haproxy',
    dir: arg.dir,
    listen: { host: '127.0.0.1', port: arg.port },
    evidence: arg.evidence,
    sampleEvery: 10,
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  await plane.router.apply({
    version: 1,
    routes: [
      {
        service: 'bench',
        match: { pathPrefix: '/' },
        stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
        rules: [],
        stable: { version: 'v1', endpoints: [arg.stableUrl] },
        canary: {
          version: 'v2',
          endpoints: [arg.canaryUrl],
          weight: arg.weightBp,
          salt: 'YmVuY2hzYWx0YmVuY2hzYWw',
          releaseId: 'bench',
          bucketHash: 'xxh32',
        } as never,
      },
    ],
  });
  let windows = 0;
  const drain = setInterval(() => (windows += plane.source?.drainWindows(Date.now()).length ?? 0), 1000);
  process.stdout.write(`${JSON.stringify({ haproxyPid: plane.router.masterPid })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  clearInterval(drain);
  await plane.close({ stopProxy: true });
  process.stderr.write(`tern-haproxy agent: ${windows} evidence windows built\n`);
  process.exit(0);
}

if (process.argv[1] === SELF) await agentMain(JSON.parse(process.argv[2]!) as TernOnHaproxyOptions & { dir: string; port: number });
