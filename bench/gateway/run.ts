/**
 * Gateway benchmark. Same machine, same run, loopback, a tiny fast backend (nginx
 * `return 200`), wrk at 64 connections with a random user id per request, against:
 *   a) the backend directly
 *   b) Tern's gateway, 1 worker, sticky 95/5 split by x-user-id   (and b2: --workers 2)
 *   c) NGINX split_clients 95/5 on x-user-id with upstream keepalive
 *   d) node http-proxy with a random 95/5 split
 *   e) the floor: node:http + undici with none of Tern's work (serve-floor.ts)
 * Prints requests/s, p50 and p99 per target (the median of interleaved rounds) and the ratios
 * b/a, b/c, b/d, b/e, e/c; then p50/p99 at a fixed ~2,000 rps (wrk with a per-request delay: 20
 * connections × 10 ms) direct, through the gateway, the floor and NGINX, and a node:http server
 * answering by itself (what one Node hop costs here); then the gateway's
 * memory for 10,000 idle keep-alive client connections.
 * Needs: nginx and wrk (apt-get install nginx-light wrk), run from the repo root:
 *   node --import tsx bench/gateway/run.ts [--seconds 10] [--rounds 3]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
/** Targets are measured in interleaved rounds and the median run is reported: this machine's speed drifts over minutes, and a target measured only early or late in the run would carry that drift into the ratios. */
const ROUNDS = Number(values.rounds);
const work = mkdtempSync(path.join(tmpdir(), 'tern-bench-'));
const children: ChildProcess[] = [];
const PORTS = { stable: 18081, canary: 18082, nginxSplit: 18090, tern: 18091, tern2: 18092, httpProxy: 18093, floor: 18094, hello: 18095 };

function nginx(name: string, body: string): void {
  const prefix = path.join(work, name);
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log warn; daemon off;
events { worker_connections 16384; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 65s; ${body} }\n`,
  );
  children.push(spawn('nginx', ['-c', conf, '-p', prefix], { stdio: 'ignore' }));
}

function node(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

async function ready(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error('benchmark helper exited')));
  });
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

const USER_LUA = path.join(work, 'users.lua');
const PACED_LUA = path.join(work, 'paced.lua');
const userScript = `math.randomseed(os.time())
request = function() return wrk.format("GET", "/", {["x-user-id"] = "u" .. math.random(1, 1000000)}) end\n`;
writeFileSync(USER_LUA, userScript);
writeFileSync(PACED_LUA, `${userScript}delay = function() return 10 end\n`);

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Parses wrk --latency output (latencies to ms). */
function wrk(port: number, connections: number, script: string): Result {
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${SECONDS}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/`], {
    encoding: 'utf8',
  });
  const ms = (label: string): number => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`no ${label}% in wrk output:\n${out}`);
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const socketErrors =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(out)
      ?.slice(1)
      .map(Number)
      .reduce((a, b) => a + b, 0) ?? 0;
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p50: ms('50'), p99: ms('99'), errors: Number(errors) + socketErrors };
}

function line(name: string, r: Result): void {
  console.log(
    `${name.padEnd(28)} rps ${r.rps.toFixed(0).padStart(7)}  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`,
  );
}

/** Runs every target once per round, in order; prints and returns each target's median run by `by`. */
function rounds(by: 'rps' | 'p99', targets: ReadonlyArray<readonly [string, () => Result]>): Result[] {
  const runs = targets.map((): Result[] => []);
  for (let round = 0; round < ROUNDS; round++) targets.forEach(([, run], i) => runs[i]!.push(run()));
  return targets.map(([name], i) => {
    const sorted = [...runs[i]!].sort((x, y) => x[by] - y[by]);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    line(name, median);
    return median;
  });
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** Opens `n` keep-alive connections, each completing one request, and leaves them idle. */
async function idleConnections(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(500, n - i) },
        (_, j) =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect(port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: b\r\nx-user-id: idle${i + j}\r\n\r\n`));
            s.once('data', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    sockets.push(...batch);
  }
  return sockets;
}

try {
  nginx(
    'backends',
    `server { listen 127.0.0.1:${PORTS.stable}; location / { return 200 "v1\\n"; } }
server { listen 127.0.0.1:${PORTS.canary}; location / { return 200 "v2\\n"; } }`,
  );
  nginx(
    'split',
    `split_clients "bench\${http_x_user_id}" $pool { 5% canary; * stable; }
upstream stable { server 127.0.0.1:${PORTS.stable}; keepalive 64; }
upstream canary { server 127.0.0.1:${PORTS.canary}; keepalive 64; }
server { listen 127.0.0.1:${PORTS.nginxSplit}; location / { proxy_pass http://$pool; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
  );
  const stableUrl = `http://127.0.0.1:${PORTS.stable}`;
  const canaryUrl = `http://127.0.0.1:${PORTS.canary}`;
  const tern = node('bench/gateway/serve-tern.ts', [String(PORTS.tern), stableUrl, canaryUrl]);
  const tern2 = node('bench/gateway/serve-tern.ts', [String(PORTS.tern2), stableUrl, canaryUrl, '--workers', '2']);
  const proxy = node('bench/gateway/serve-http-proxy.ts', [String(PORTS.httpProxy), stableUrl, canaryUrl]);
  const floor = node('bench/gateway/serve-floor.ts', [String(PORTS.floor), stableUrl, canaryUrl]);
  const hello = node('bench/gateway/serve-hello.ts', [String(PORTS.hello)]);
  await Promise.all([
    waitPort(PORTS.stable),
    waitPort(PORTS.nginxSplit),
    ready(tern),
    ready(tern2),
    ready(proxy),
    ready(floor),
    ready(hello),
  ]);
  // Warm-up: JIT and connection pools.
  for (const port of [PORTS.tern, PORTS.tern2, PORTS.httpProxy, PORTS.floor, PORTS.hello, PORTS.nginxSplit])
    execFileSync('wrk', ['-t1', '-c16', '-d2s', `http://127.0.0.1:${port}/`]);

  console.log(`# wrk -t2 -c64 -d${SECONDS}s, random x-user-id per request, loopback, median of ${ROUNDS} interleaved rounds, ${work}`);
  const full = rounds('rps', [
    ['a direct backend', () => wrk(PORTS.stable, 64, USER_LUA)],
    ['b tern gateway (1 worker)', () => wrk(PORTS.tern, 64, USER_LUA)],
    ['c nginx split_clients', () => wrk(PORTS.nginxSplit, 64, USER_LUA)],
    ['d node http-proxy', () => wrk(PORTS.httpProxy, 64, USER_LUA)],
    ['e floor: node:http + undici', () => wrk(PORTS.floor, 64, USER_LUA)],
    ['b2 tern gateway (2 workers)', () => wrk(PORTS.tern2, 64, USER_LUA)],
  ]);
  const [a, b, c, d, e, b2] = full as [Result, Result, Result, Result, Result, Result];
  const ratio = (x: Result, y: Result): string => (x.rps / y.rps).toFixed(2);
  console.log(
    `ratio b/a ${ratio(b, a)}  b/c ${ratio(b, c)}  b/d ${ratio(b, d)}  b/e ${ratio(b, e)}  e/c ${ratio(e, c)}  b2/b ${ratio(b2, b)}  b2/c ${ratio(b2, c)}`,
  );

  console.log('# fixed rate: wrk -t2 -c20 with a 10 ms pause per request (~2,000 rps)');
  const paced = rounds('p99', [
    ['direct', () => wrk(PORTS.stable, 20, PACED_LUA)],
    ['tern gateway', () => wrk(PORTS.tern, 20, PACED_LUA)],
    ['floor: node:http + undici', () => wrk(PORTS.floor, 20, PACED_LUA)],
    ['nginx split_clients', () => wrk(PORTS.nginxSplit, 20, PACED_LUA)],
    ['node:http hello (no proxy)', () => wrk(PORTS.hello, 20, PACED_LUA)],
  ]);
  const [pa, pb, pe, pc, ph] = paced as [Result, Result, Result, Result, Result];
  const added = (r: Result): string => `p50 ${(r.p50 - pa.p50).toFixed(2)} ms  p99 ${(r.p99 - pa.p99).toFixed(2)} ms`;
  console.log(
    `added latency over direct: tern ${added(pb)}; floor ${added(pe)}; nginx ${added(pc)}; node:http hello instead of nginx ${added(ph)}`,
  );

  const before = rssKb(tern.pid!);
  const sockets = await idleConnections(PORTS.tern, 10_000);
  await sleep(1000);
  const afterKb = rssKb(tern.pid!);
  console.log(
    `idle keep-alive connections 10000 gateway rss +${((afterKb - before) / 1024).toFixed(1)} MiB (${((afterKb - before) / 10_000).toFixed(2)} KiB each; total ${(afterKb / 1024).toFixed(0)} MiB)`,
  );
  for (const s of sockets) s.destroy();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(300);
  for (const child of children) child.kill('SIGKILL');
}
