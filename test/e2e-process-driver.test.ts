/**
 * Promotion with the `process` deploy driver, end to end under steady user load: `tern server`
 * starts each new version's instances itself, promotes it step by step, and retires the
 * replaced stable's instances once the gateway no longer routes to them — without failing a
 * single user request; deleting the service stops the instances that were still running.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive, stopGroup } from '../src/control/drivers/process-group.js';
import { killAll, ROOT, startTernServer, startVersionApp, type TernServer } from './support/processes.js';
import { startLoad } from './support/load.js';

interface ReleaseJson {
  id: string;
  status: string;
  reason: string | null;
  deployment: { state: string; instances: Array<{ pid: number | null }> } | null;
}

describe('promotion through the process driver under load', { timeout: 150_000 }, () => {
  let dataDir: string;
  let server: TernServer;
  /** Process groups the driver started: a server keeps them when it stops, the test must not. */
  const started: number[] = [];

  async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T;
    if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function release(version: string): Promise<ReleaseJson> {
    const started = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', {
      version,
      steps: [{ weight: 50, hold: '3s', analysis: false }, { weight: 100 }],
    });
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(250)) {
      const r = await api<ReleaseJson>('GET', `/api/v1/releases/${started.id}`);
      if (['promoted', 'rolled_back', 'failed', 'paused'].includes(r.status)) return r;
    }
    throw new Error(`release of ${version} did not end`);
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-driver-'));
    server = await startTernServer(dataDir);
  });
  after(async () => {
    await killAll();
    await Promise.all(started.map((pgid) => stopGroup(pgid, 2000)));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts v2 and v3 itself, promotes them, retires v2 after v3 replaces it, and fails no request', async () => {
    const v1 = await startVersionApp('v1');
    await api('POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [v1.url] },
      deploy: {
        driver: 'process',
        command: `${process.execPath} ${path.join(ROOT, 'test', 'fixtures', 'version-app.mjs')} --port {port} --version {version}`,
        instances: 2,
        readiness: { path: '/healthz', timeout: '15s' },
        retireAfter: '2s',
      },
    });
    const load = startLoad(server.gatewayUrl, { rps: 200, users: 2000, maxSeconds: 100 });
    const v2 = await release('v2');
    assert.equal(v2.status, 'promoted', v2.reason ?? '');
    const v2Pids = v2.deployment!.instances.map((i) => i.pid!);
    started.push(...v2Pids);
    assert.equal(v2Pids.length, 2);
    const v3 = await release('v3');
    started.push(...(v3.deployment?.instances ?? []).map((i) => i.pid!));
    assert.equal(v3.status, 'promoted', v3.reason ?? '');
    let retired: ReleaseJson | null = null;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && retired?.deployment?.state !== 'retired'; await sleep(250)) {
      retired = await api<ReleaseJson>('GET', `/api/v1/releases/${v2.id}`);
    }
    assert.equal(retired?.deployment?.state, 'retired', 'the replaced stable was retired');
    assert.ok(
      v2Pids.every((pid) => !groupAlive(pid)),
      "v2's processes are gone",
    );
    await sleep(1000);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `${stats.failed} of ${stats.sent} failed: ${stats.failures.slice(0, 5).join('; ')}`);
    for (const v of ['v1', 'v2', 'v3'])
      assert.ok((stats.byVersion.get(v) ?? 0) > 0, `${v} served users: ${JSON.stringify([...stats.byVersion])}`);
    assert.ok(
      v3.deployment!.instances.every((i) => groupAlive(i.pid!)),
      'the new stable keeps running',
    );
  });

  it('stops the instances it started when their service is deleted', async () => {
    const running = (await api<{ releases: ReleaseJson[] }>('GET', '/api/v1/services/shop/releases')).releases
      .filter((r) => r.deployment?.state === 'ready')
      .flatMap((r) => r.deployment!.instances.map((i) => i.pid!));
    assert.ok(running.length > 0 && running.every((pid) => groupAlive(pid)), 'the stable instances run before the delete');
    const res = await fetch(`${server.apiUrl}/api/v1/services/shop`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    assert.equal(res.status, 204);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && running.some((pid) => groupAlive(pid));) await sleep(250);
    assert.ok(
      running.every((pid) => !groupAlive(pid)),
      `still running after the delete: ${running.filter((pid) => groupAlive(pid)).join(', ')}`,
    );
  });
});
