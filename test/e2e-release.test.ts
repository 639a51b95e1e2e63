/**
 * End to end with real processes: `tern server` (API + controller + gateway), a separate
 * `tern gateway`, version apps, and steady user traffic through the gateways. A healthy canary
 * is promoted with zero failed requests; a canary with 10x the errors is rolled back by the
 * controller on its own, with the judge's evidence in the API; the server killed with SIGKILL
 * mid-release leaves the separate gateway routing, and the release resumes after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, startTernGateway, startTernServer, startVersionApp, type TernServer } from './support/processes.js';
import { startLoad } from './support/load.js';

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
  stepIndex: number;
  reason: string | null;
}

describe('releases end to end through real gateways', { timeout: 240_000 }, () => {
  let dataDir: string;
  let server: TernServer;
  let stable: string;

  async function api<T>(method: string, url: string, body?: unknown, token = server.adminToken): Promise<{ status: number; json: T }> {
    const res = await fetch(`${server.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
  }

  async function waitForStatus(id: string, statuses: string[], timeoutMs: number): Promise<ReleaseJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { json } = await api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
      if (statuses.includes(json.status)) return json;
      if (Date.now() > deadline) throw new Error(`release ${id} still ${json.status} (${json.reason}) after ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-'));
    server = await startTernServer(path.join(dataDir, 'server'));
    stable = (await startVersionApp('v1', { errorRate: 0.005 })).url;
    const created = await api('POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [stable] },
    });
    assert.equal(created.status, 201);
  });
  after(async () => {
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('promotes a healthy canary step by step with zero failed user requests', async () => {
    const canary = await startVersionApp('v2', { errorRate: 0.005 });
    const load = startLoad(server.gatewayUrl, { rps: 150, users: 2000 });
    const { status, json } = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: '20:8s,50:8s,100',
    });
    assert.equal(status, 201);
    const done = await waitForStatus(json.id, ['promoted', 'rolled_back', 'paused'], 90_000);
    await sleep(1500); // the gateways pick up the final table
    const stats = await load.stop();
    assert.equal(done.status, 'promoted', done.reason ?? '');
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.ok((stats.byVersion.get('v2') ?? 0) > 0 && (stats.byVersion.get('v1') ?? 0) > 0);
    const service = await api<{ stable: { version: string } }>('GET', '/api/v1/services/shop');
    assert.equal(service.json.stable.version, 'v2');
    stable = canary.url;
  });

  it("rolls back a canary with 10x the errors by itself, with the judge's evidence in the API", async () => {
    const bad = await startVersionApp('v3', { errorRate: 0.05 });
    const load = startLoad(server.gatewayUrl, { rps: 200, users: 4000 });
    const { json } = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', {
      version: 'v3',
      endpoints: [bad.url],
      steps: '10:5m,100',
    });
    const done = await waitForStatus(json.id, ['rolled_back', 'promoted', 'paused'], 90_000);
    await load.stop();
    assert.equal(done.status, 'rolled_back');
    assert.equal(done.weight, 0);
    assert.match(done.reason ?? '', /sequential judge failed step 1\/2 \(10%\): error-rate/);
    const analysis = await api<{
      verdicts: Array<{ outcome: string; checks: Array<{ check: string; outcome: string; statistic: number }> }>;
    }>('GET', `/api/v1/releases/${json.id}/analysis`);
    const failed = analysis.json.verdicts.find((v) => v.outcome === 'fail');
    assert.ok(failed, 'a failing verdict is stored');
    assert.ok(failed.checks.some((c) => c.check === 'error-rate' && c.outcome === 'fail' && c.statistic > 1.5));
  });

  it('keeps routing through a separate gateway while the server is SIGKILLed, and resumes the release after restart', async () => {
    const token = await api<{ secret: string }>('POST', '/api/v1/tokens', { name: 'edge-1', role: 'gateway' });
    const edge = await startTernGateway(server.apiUrl, token.json.secret, path.join(dataDir, 'edge.json'));
    const canary = await startVersionApp('v4');
    const { json } = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', {
      version: 'v4',
      endpoints: [canary.url],
      steps: [{ weight: 20, hold: '6s', analysis: false }, { weight: 50, hold: '1h', analysis: false }, { weight: 100 }],
    });
    const atStep2 = await (async () => {
      for (;;) {
        const r = (await api<ReleaseJson>('GET', `/api/v1/releases/${json.id}`)).json;
        if (r.stepIndex === 1) return r;
        await sleep(200);
      }
    })();
    assert.equal(atStep2.weight, 50);
    await sleep(1000); // the edge gateway has the 50% table
    const load = startLoad(edge.url, { rps: 100, users: 1000 });
    await server.proc.kill('SIGKILL');
    await sleep(4000);
    const during = { ...load.stats, byVersion: new Map(load.stats.byVersion) };
    const restarted = await startTernServer(path.join(dataDir, 'server'));
    server = restarted;
    const resumed = (await api<ReleaseJson>('GET', `/api/v1/releases/${json.id}`)).json;
    assert.equal(resumed.status, 'progressing');
    assert.equal(resumed.stepIndex, 1, 'the release is at the step it was');
    const promoted = await api<ReleaseJson>('POST', `/api/v1/releases/${json.id}/promote`, { reason: 'done watching' });
    assert.equal(promoted.status, 200);
    // The last step's hold starts once every live data plane applied its weight: the killed
    // server's own gateway counts as live until its last status report is 20 s old.
    await waitForStatus(json.id, ['promoted'], 35_000);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.ok(during.ok > 200, `the edge gateway served ${during.ok} requests while the control plane was down`);
    assert.ok((during.byVersion.get('v4') ?? 0) > 0 && (during.byVersion.get('v2') ?? 0) > 0, 'both versions kept serving at 50%');
    await edge.proc.kill();
  });
});
