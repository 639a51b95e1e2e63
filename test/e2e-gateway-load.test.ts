/**
 * The gateway under steady load, with real processes: `tern server` (control plane and the
 * built-in gateway) and version apps. At 500 requests a second, moving the canary weight
 * 0 → 100 → 0 through the API and then killing one of two stable endpoints must not fail a
 * single user request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, startTernServer, startVersionApp, type TernServer } from './support/processes.js';
import { startLoad } from './support/load.js';

describe('gateway under 500 rps of steady load', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: TernServer;

  async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: { id?: string } }> {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as { id?: string } };
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-load-'));
    server = await startTernServer(dataDir);
  });
  after(async () => {
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('fails no request while the weight moves 0 → 100 → 0 and a stable endpoint is killed', async () => {
    const stableA = await startVersionApp('v1');
    const stableB = await startVersionApp('v1');
    const canary = await startVersionApp('v2');
    assert.equal(
      (
        await api('POST', '/api/v1/services', {
          name: 'web',
          match: { pathPrefix: '/' },
          stickiness: { header: 'x-user-id' },
          stable: { version: 'v1', endpoints: [stableA.url, stableB.url] },
        })
      ).status,
      201,
    );
    const release = await api('POST', '/api/v1/services/web/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: [{ weight: 1, hold: '1h', analysis: false }, { weight: 100 }],
    });
    assert.equal(release.status, 201);
    const load = startLoad(server.gatewayUrl, { rps: 500, users: 5000, maxSeconds: 60 });
    await sleep(1000);
    for (const weight of [0, 10, 25, 50, 75, 100, 75, 50, 25, 10, 0]) {
      assert.equal((await api('PUT', `/api/v1/releases/${release.json.id}/weight`, { weight, reason: 'load test' })).status, 200);
      await sleep(400);
    }
    await api('PUT', `/api/v1/releases/${release.json.id}/weight`, { weight: 50 });
    await sleep(500);
    await stableB.proc.kill('SIGKILL');
    await sleep(3000);
    const stats = await load.stop();
    assert.ok(stats.sent >= 4000, `sent ${stats.sent}`);
    assert.equal(stats.failed, 0, `${stats.failed} of ${stats.sent} failed: ${stats.failures.slice(0, 5).join('; ')}`);
    assert.ok((stats.byVersion.get('v2') ?? 0) > 500 && (stats.byVersion.get('v1') ?? 0) > 500, JSON.stringify([...stats.byVersion]));
  });
});
