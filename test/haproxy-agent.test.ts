/**
 * `tern agent haproxy` as a real process on a real HAProxy: the agent killed with SIGKILL
 * leaves HAProxy serving the last table (fail static), and a restarted agent — here with its
 * control plane unreachable — adopts that HAProxy and changes nothing users see (same master,
 * same worker: no reload, every user on the same version).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Pool } from 'undici';
import type { RouteEntry } from '../src/core/types.js';
import { HaproxyProcess } from '../src/providers/routers/haproxy/process.js';
import { HaproxyRouter } from '../src/providers/routers/haproxy/router.js';
import { ROOT } from './support/processes.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;
const logger = pino({ level: 'silent' });

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('tern agent haproxy (a real process)', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let port: number;
  const servers: http.Server[] = [];
  const agents: ChildProcess[] = [];
  let masterPid = 0;

  const startAgent = async (): Promise<{ proc: ChildProcess; haproxyPid: number }> => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        '-o',
        'json',
        'agent',
        'haproxy',
        '--control-plane',
        'http://127.0.0.1:9', // unreachable: the agent must serve from its state dir
        '--token',
        'tern_unused',
        '--state-dir',
        dir,
        '--listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'silent',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    agents.push(proc);
    const line = await new Promise<string>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`agent exited ${String(code)}`)));
      createInterface({ input: proc.stdout }).once('line', resolve);
    });
    proc.removeAllListeners('exit');
    return { proc, haproxyPid: (JSON.parse(line) as { haproxyPid: number }).haproxyPid };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-agent-'));
    const ports: number[] = [];
    for (const v of ['v1', 'v2']) {
      const server = http.createServer((req, res) => res.end(v));
      servers.push(server);
      ports.push(await listen(server));
    }
    const probe = http.createServer();
    port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    // A table applied earlier (by an agent that has since gone): the state dir holds it.
    const router = await HaproxyRouter.open({ dir, listen: { host: '127.0.0.1', port }, logPort: null, sampleEvery: 1, logger });
    masterPid = router.masterPid;
    const canary = {
      version: 'v2',
      endpoints: [`http://127.0.0.1:${ports[1]}`],
      weight: 3000,
      salt: 'YWdlbnRzYWx0YWdlbnRzYWw',
      releaseId: 'r',
      bucketHash: 'xxh32' as const,
    };
    const route: RouteEntry = {
      service: 'web',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user', cookie: 'tern_uid' },
      rules: [],
      stable: { version: 'v1', endpoints: [`http://127.0.0.1:${ports[0]}`] },
      canary: canary,
    };
    await router.apply({ version: 7, routes: [route] });
    await router.close();
  });

  after(async () => {
    for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
    const proc = await HaproxyProcess.adopt({ bin: 'haproxy', dir, logger });
    await proc?.stop();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives the agent being killed, and a restarted agent changes nothing users see', async () => {
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
    const users = Array.from({ length: 400 }, (_, i) => `u-${i}`);
    const versions = async (): Promise<string[]> =>
      Promise.all(users.map(async (u) => (await pool.request({ method: 'GET', path: '/', headers: { 'x-user': u } })).body.text()));
    const before = await versions();
    assert.ok(before.includes('v1') && before.includes('v2'));
    const first = await startAgent();
    assert.equal(first.haproxyPid, masterPid, 'the agent adopts the running HAProxy');
    assert.deepEqual(await versions(), before);
    // (This first agent adds its latency log to the config: one graceful reload. The next one finds its own config.)
    const worker = await (await HaproxyProcess.adopt({ bin: 'haproxy', dir, logger }))!.workerPid();
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    assert.deepEqual(await versions(), before, 'HAProxy keeps serving the last table without its agent');

    const second = await startAgent();
    assert.equal(second.haproxyPid, masterPid);
    assert.deepEqual(await versions(), before);
    const now = await (await HaproxyProcess.adopt({ bin: 'haproxy', dir, logger }))!.workerPid();
    assert.equal(now, worker, 'no reload: the same worker serves');
    second.proc.kill('SIGTERM');
    await new Promise((r) => second.proc.once('exit', r));
    assert.deepEqual(await versions(), before, 'a cleanly stopped agent leaves HAProxy serving too');
    await pool.close();
  });
});
