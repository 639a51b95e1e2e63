/**
 * Graceful shutdown as real processes under a steady, bounded load:
 *
 * - SIGTERM to one worker of `tern gateway --workers 2`: it drains, its primary starts another,
 *   and not one request fails;
 * - SIGKILL to a worker: the primary replaces it and keeps serving;
 * - SIGTERM to the gateway's primary: requests in flight finish, the kept-alive connections
 *   are answered `Connection: close`, the process exits 0 well within --drain-timeout; the
 *   clients, refused a new connection, go to a second gateway (what a load balancer does).
 *   "0 failed" means: every request written to a connection got a complete 200; a connect that
 *   is refused sent nothing, and the client takes it to the other gateway; a request written on
 *   a kept-alive connection the gateway closed at that instant is retried once (RFC 9112
 *   §9.3.1, what browsers and most HTTP clients do) and counted in `retried`.
 * - SIGTERM to `tern server`: its built-in gateway's requests in flight finish, exit 0.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { BIN, cleanEnv, killAll, startNode, startTernServer, startVersionApp, type Proc, type TernServer } from './support/processes.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Child pids of `pid` (the cluster's workers), from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Sockets `pid` holds: a gateway worker's user connections plus a few of its own. */
function socketsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  /** Answers that carried `Connection: close`. */
  closes: number;
  /** Connects refused, taken to the next target (nothing was sent). */
  movedOn: number;
  /** Requests retried once after a reused connection was reset (RFC 9112 §9.3.1). */
  retried: number;
}

/**
 * `clients` loops, each sending one request after another on keep-alive connections (bounded by
 * `until` and 30 s). A refused connect moves the loop to the next target.
 */
function steadyLoad(targets: readonly string[], clients: number, stop: AbortSignal): Promise<LoadResult> {
  const pools = targets.map((t) => new Pool(t, { connections: clients, keepAliveTimeout: 60_000 }));
  const result: LoadResult = { ok: 0, failed: 0, errors: [], closes: 0, movedOn: 0, retried: 0 };
  const deadline = Date.now() + 30_000;
  const loop = async (n: number): Promise<void> => {
    let target = 0;
    let retried = false;
    for (let i = 0; !stop.aborted && Date.now() < deadline; i++) {
      try {
        const res = await pools[target]!.request({ method: 'GET', path: '/', headers: { 'x-user-id': `u${n}-${i % 50}` } });
        retried = false;
        const body = await res.body.text();
        if (res.headers.connection === 'close') result.closes++;
        if (res.statusCode === 200 && body.trim() === 'v1') result.ok++;
        else {
          result.failed++;
          result.errors.push(`${res.statusCode} ${body.slice(0, 80)}`);
        }
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ECONNREFUSED' && target < pools.length - 1) {
          result.movedOn++;
          target++;
          continue;
        }
        // A kept-alive connection the draining gateway closed just as this request was written
        // on it: RFC 9112 §9.3.1 lets a client retry an idempotent request once, as browsers do.
        if ((code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') && !retried) {
          retried = true;
          result.retried++;
          i--;
          continue;
        }
        result.failed++;
        result.errors.push(`${code ?? ''} ${(err as Error).message}`);
        await sleep(20);
      }
    }
  };
  return Promise.all(Array.from({ length: clients }, (_, n) => loop(n)))
    .then(() => Promise.all(pools.map((p) => p.close())))
    .then(() => result);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { headers: { 'x-user-id': 'probe' } });
    return res.status === 200 && (await res.text()).trim() === 'v1';
  } catch {
    return false;
  }
}

describe('graceful shutdown under load', { timeout: 150_000 }, () => {
  let dataDir: string;
  let server: TernServer;
  let token: string;
  const api = async (method: string, url: string, body?: unknown): Promise<{ secret?: string }> => {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(res.status < 300, `${method} ${url}: ${res.status}`);
    return (await res.json()) as { secret?: string };
  };
  const startEdge = async (port: number): Promise<Proc> => {
    const edge = startNode(
      [
        BIN,
        'gateway',
        '--control-plane',
        server.apiUrl,
        '--port',
        String(port),
        '--workers',
        '2',
        '--drain-timeout',
        '10s',
        '--state-file',
        path.join(dataDir, `edge-${port}.json`),
        '--log-level',
        'warn',
      ],
      cleanEnv({ TERN_TOKEN: token }),
    );
    await edge.waitFor(/with 2 workers/);
    await until(() => answers(`http://127.0.0.1:${port}/`), 20_000, 'the gateway to route');
    return edge;
  };

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-graceful-'));
    server = await startTernServer(dataDir);
    // Each answer takes ~40 ms, so some are always in flight when a signal arrives.
    const v1 = await startVersionApp('v1', { delayMs: 40 });
    await api('POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [v1.url] },
    });
    token = (await api('POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' })).secret!;
    await until(() => answers(`${server.gatewayUrl}/`), 20_000, 'the built-in gateway to route');
  });
  after(async () => {
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM to a worker: it drains, the primary replaces it, 0 failed requests', async () => {
    const port = await freePort();
    const edge = await startEdge(port);
    const primary = edge.child.pid!;
    const workers = childrenOf(primary);
    assert.equal(workers.length, 2);
    const stop = new AbortController();
    const load = steadyLoad([`http://127.0.0.1:${port}`], 8, stop.signal);
    await sleep(1500);
    // The workers accept for themselves (--balance kernel), so the kernel may give one of them
    // most of the 8 connections: drain the one holding more, so it has answers to close.
    const drained = socketsOf(workers[0]!) >= socketsOf(workers[1]!) ? workers[0]! : workers[1]!;
    const other = workers.find((p) => p !== drained)!;
    process.kill(drained, 'SIGTERM');
    await until(() => !childrenOf(primary).includes(drained) && childrenOf(primary).length === 2, 20_000, 'a replacement worker');
    const listening = (): number => edge.output().match(/gateway worker \d+ \(pid \d+\) listening/g)?.length ?? 0;
    await until(() => listening() === 3, 20_000, 'the replacement worker to listen');
    await sleep(1500);
    stop.abort();
    const result = await load;
    console.log(`worker SIGTERM: ${result.ok} answered, ${result.failed} failed, ${result.closes} Connection: close`);
    assert.deepEqual(result.errors.slice(0, 5), []);
    assert.equal(result.failed, 0);
    assert.ok(result.ok > 200, `requests answered: ${result.ok}`);
    assert.ok(result.closes > 0, 'the draining worker answered Connection: close');

    // SIGKILL: nothing to drain, but the primary starts another worker and keeps serving.
    // (The victim is the older worker: the replacement above is listening, so one always is.)
    assert.ok(childrenOf(primary).includes(other));
    process.kill(other, 'SIGKILL');
    await until(() => listening() === 4, 20_000, 'a worker after SIGKILL to listen');
    const stop2 = new AbortController();
    const after = steadyLoad([`http://127.0.0.1:${port}`], 4, stop2.signal);
    await sleep(1000);
    stop2.abort();
    const served = await after;
    assert.equal(served.failed, 0, served.errors.join('\n'));
    assert.ok(served.ok > 20);
    assert.equal(await edge.kill('SIGTERM'), 0);
  });

  it('SIGTERM to the gateway: requests in flight finish, clients move to another gateway, exit 0', async () => {
    const port = await freePort();
    const edge = await startEdge(port);
    const stop = new AbortController();
    const load = steadyLoad([`http://127.0.0.1:${port}`, server.gatewayUrl], 8, stop.signal);
    await sleep(1500);
    const signalled = Date.now();
    const code = await edge.kill('SIGTERM');
    const tookMs = Date.now() - signalled;
    await sleep(1000);
    stop.abort();
    const result = await load;
    console.log(
      `gateway SIGTERM: exit ${code} after ${tookMs} ms; ${result.ok} answered, ${result.failed} failed, ${result.closes} Connection: close, ${result.movedOn} clients moved on, ${result.retried} retried`,
    );
    assert.equal(code, 0, 'exit code');
    assert.ok(tookMs < 10_000, `exited within the drain timeout (${tookMs} ms)`);
    assert.deepEqual(result.errors.slice(0, 5), []);
    assert.equal(result.failed, 0);
    assert.ok(result.closes > 0, 'kept-alive connections were answered Connection: close');
    assert.ok(result.movedOn > 0, 'clients went on to the second gateway');
  });

  it('SIGTERM to tern server: its gateway finishes the requests in flight and it exits 0', async () => {
    const stop = new AbortController();
    const load = steadyLoad([server.gatewayUrl], 8, stop.signal);
    await sleep(1000);
    const code = await server.proc.kill('SIGTERM');
    stop.abort();
    const result = await load;
    console.log(
      `server SIGTERM: exit ${code}; ${result.ok} answered, ${result.closes} Connection: close, ${result.errors.length} errors (refused after the drain)`,
    );
    assert.equal(code, 0);
    // After the drain nothing listens: those loops end refused (no other target); none of
    // the requests already written may have failed any other way.
    const unanswered = result.errors.filter((e) => !e.startsWith('ECONNREFUSED'));
    assert.deepEqual(unanswered, []);
    assert.ok(result.ok > 50);
    assert.ok(result.closes > 0, 'kept-alive connections were answered Connection: close');
  });
});
