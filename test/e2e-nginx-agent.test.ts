/**
 * `tern agent nginx` end to end: a real `tern server`, a real agent process driving a
 * real NGINX. The release's weight reaches NGINX, the evidence the control plane stores counts
 * exactly the requests users sent, killing the agent (SIGKILL) leaves NGINX serving the same
 * split, and a restarted agent changes nothing users see (same NGINX, same config, same answers).
 * Needs the built dist (bin/tern); runs in CI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { apiCaller } from './support/api.js';
import { freePort } from './support/monitoring.js';
import { BIN, cleanEnv, killAll, startNode, startTernServer, startVersionApp, type Proc, type TernServer } from './support/processes.js';

describe('tern agent nginx end to end', { timeout: 180_000 }, () => {
  let dir: string;
  let server: TernServer;
  let agentArgs: string[];
  let nginxUrl: string;
  let releaseId: string;
  let pool: Pool;
  const api = apiCaller(
    () => server.apiUrl,
    () => server.adminToken,
  );

  const startAgent = async (): Promise<{ proc: Proc; pid: number }> => {
    const proc = startNode(agentArgs, cleanEnv());
    const [, pid] = await proc.waitFor(/Tern NGINX agent: nginx \(pid (\d+)\)/);
    return { proc, pid: Number(pid) };
  };
  const answers = async (users: number): Promise<{ byUser: string[]; failed: number }> => {
    const byUser: string[] = [];
    let failed = 0;
    for (let i = 0; i < users; i++) {
      try {
        const res = await pool.request({ method: 'GET', path: '/', headers: { 'x-user-id': `user-${i}` } });
        const body = (await res.body.text()).trim();
        if (res.statusCode !== 200) failed++;
        byUser.push(body);
      } catch {
        failed++;
        byUser.push('');
      }
    }
    return { byUser, failed };
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-nginx-'));
    await chmod(dir, 0o755); // NGINX workers (an unprivileged user under root) read the agent's state files
    server = await startTernServer(path.join(dir, 'server'));
    const stable = await startVersionApp('v1');
    const canary = await startVersionApp('v2');
    assert.equal(
      (
        await api('POST', '/api/v1/services', {
          name: 'shop',
          match: { pathPrefix: '/' },
          stickiness: { header: 'x-user-id' },
          stable: { version: 'v1', endpoints: [stable.url] },
        })
      ).status,
      201,
    );
    const token = await api<{ secret: string }>('POST', '/api/v1/tokens', { name: 'edge-nginx', role: 'gateway' });
    await writeFile(path.join(dir, 'token'), `${token.json.secret}\n`, { mode: 0o600 });
    const release = await api<{ id: string }>('POST', '/api/v1/services/shop/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: '50:10m,100',
    });
    assert.equal(release.status, 201);
    releaseId = release.json.id;
    const port = await freePort();
    nginxUrl = `http://127.0.0.1:${port}`;
    agentArgs = [BIN, 'agent', 'nginx', '--control-plane', server.apiUrl, '--token-file', path.join(dir, 'token')];
    agentArgs.push('--state-dir', path.join(dir, 'agent'), '--listen', `127.0.0.1:${port}`, '--name', 'edge-nginx', '--log-level', 'warn');
    pool = new Pool(nginxUrl, { connections: 8 });
  });

  after(async () => {
    await pool?.close();
    await killAll();
    try {
      process.kill(Number(readFileSync(path.join(dir, 'agent', 'nginx', 'nginx.pid'), 'utf8')), 'SIGTERM');
    } catch {
      // not started
    }
    await sleep(300);
    await rm(dir, { recursive: true, force: true });
  });

  it('routes by the release, pushes exact evidence, survives the agent being killed and restarted unchanged', async () => {
    const first = await startAgent();
    let seen: { byUser: string[]; failed: number } = { byUser: [], failed: 0 };
    for (let i = 0; i < 100 && !seen.byUser.includes('v2'); i++) {
      seen = await answers(50);
      await sleep(100);
    }
    assert.ok(seen.byUser.includes('v2') && seen.byUser.includes('v1'), 'the 50% step reached NGINX');

    // Exact evidence: the windows the control plane stores count what users were answered.
    // Only windows from the second the 400 requests began are compared: the probes above ended
    // seconds before, and their windows may still be on their way (a busy machine delays pushes).
    await sleep(2000);
    const sentAt = Date.now();
    const from = Math.floor(sentAt / 1000) * 1000;
    const sent = await answers(400);
    assert.equal(sent.failed, 0);
    const want = { v1: sent.byUser.filter((v) => v === 'v1').length, v2: sent.byUser.filter((v) => v === 'v2').length };
    const counted = async (): Promise<Map<string, number>> => {
      const m = await api<{ versions: { version: string; windows: { windowStart: string; requests: number }[] }[] }>(
        'GET',
        `/api/v1/releases/${releaseId}/metrics`,
      );
      return new Map(
        m.json.versions.map((v) => [
          v.version,
          v.windows.filter((w) => Date.parse(w.windowStart) >= from).reduce((n, w) => n + w.requests, 0),
        ]),
      );
    };
    for (let i = 0; i < 60; i++) {
      const sofar = await counted();
      if ((sofar.get('v1') ?? 0) + (sofar.get('v2') ?? 0) >= want.v1 + want.v2) break;
      await sleep(250);
    }
    await sleep(1500); // anything more that would arrive (a double count) arrives now
    const got = await counted();
    console.log(`# nginx e2e: evidence for ${want.v1 + want.v2} requests arrived ${Date.now() - sentAt} ms after the first was sent`);
    assert.equal(got.get('v1') ?? 0, want.v1, 'stable requests counted exactly');
    assert.equal(got.get('v2') ?? 0, want.v2, 'canary requests counted exactly');

    // Fail static: SIGKILL the agent; NGINX keeps serving the same split.
    const conf = readFileSync(path.join(dir, 'agent', 'nginx', 'nginx.conf'), 'utf8');
    await first.proc.kill('SIGKILL');
    const orphaned = await answers(400);
    assert.equal(orphaned.failed, 0);
    assert.deepEqual(orphaned.byUser, sent.byUser, 'the same users on the same versions without the agent');
    process.kill(first.pid, 0); // still running

    // Restart: adopts the same NGINX, rewrites the same config, answers the same.
    const second = await startAgent();
    assert.equal(second.pid, first.pid, 'the restarted agent adopted the running NGINX');
    assert.equal(readFileSync(path.join(dir, 'agent', 'nginx', 'nginx.conf'), 'utf8'), conf, 'nginx.conf unchanged');
    const again = await answers(400);
    assert.equal(again.failed, 0);
    assert.deepEqual(again.byUser, sent.byUser);
  });
});
