/**
 * `tern demo --data-plane haproxy`'s data plane against a real `tern server` and a real HAProxy:
 * it follows the control plane (users reach the service's stable version through HAProxy),
 * reports itself as an HAProxy data plane, delivers exact evidence (every request counted, no push
 * rejected for holding more latency samples than requests, which the demo's 1:1 latency log made
 * common), and `stop()` stops HAProxy (the demo leaves nothing behind). Skips locally without haproxy, never in CI (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Pool, request } from 'undici';
import { startHaproxyDemoDataPlane, DEMO_HAPROXY } from '../src/cli/demo/haproxy-data-plane.js';
import { apiCaller } from './support/api.js';
import { killAll, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
interface VersionTotals {
  version: string;
  totals: { requests: number; errors: number; latencySamples: number };
}
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;

describe('tern demo --data-plane haproxy: the data plane', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let server: TernServer;
  let releaseId: string;
  const api = apiCaller(
    () => server.apiUrl,
    () => server.adminToken,
  );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-demo-haproxy-'));
    server = await startTernServer(path.join(dir, 'server'));
    const stable = await startVersionApp('v1', { delayMs: 20 }); // users spread over a few seconds
    const created = await api('POST', '/api/v1/services', {
      name: 'demo-shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [stable.url] },
    });
    assert.equal(created.status, 201);
    const canary = await startVersionApp('v2', { delayMs: 20 });
    const release = await api<{ id: string }>('POST', '/api/v1/services/demo-shop/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: [{ weight: 50, hold: '10m', analysis: false }, { weight: 100 }],
    });
    assert.equal(release.status, 201, JSON.stringify(release.json));
    releaseId = release.json.id;
  });
  after(async () => {
    await killAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('carries the users by the control plane, reports as HAProxy, and stops HAProxy on stop()', async () => {
    const token = await api<{ secret: string }>('POST', '/api/v1/tokens', { name: DEMO_HAPROXY, role: 'gateway' });
    const plane = await startHaproxyDemoDataPlane({
      apiUrl: server.apiUrl,
      token: token.json.secret,
      dataDir: dir,
      host: '127.0.0.1',
      logger: pino({ level: 'silent' }),
    });
    try {
      const res = await request(`${plane.url}/checkout`, { headers: { 'x-user-id': 'alice' } });
      assert.equal(res.statusCode, 200);
      const alice = (await res.body.text()).trim();
      assert.match(alice, /^v[12]$/);
      const planes = await api<{ dataPlanes: { name: string; kind: string; state: string }[] }>('GET', '/api/v1/dataplanes');
      const mine = planes.json.dataPlanes.find((p) => p.name === DEMO_HAPROXY);
      assert.equal(mine?.kind, 'haproxy', JSON.stringify(planes.json));
      assert.equal(mine.state, 'live');

      // A burst of users: the evidence counts each one, with its latency. (The agent's first
      // counter read, a second after it starts, is its baseline: counting starts there — before
      // or after alice's request, depending on how long the start took.)
      await sleep(1500);
      const pool = new Pool(plane.url, { connections: 8 });
      let next = 0;
      const sent = new Map<string, number>();
      const worker = async (): Promise<void> => {
        while (next < 800) {
          const answer = await pool.request({ method: 'GET', path: '/', headers: { 'x-user-id': `u-${next++}` } });
          const v = (await answer.body.text()).trim();
          sent.set(v, (sent.get(v) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await pool.close();
      assert.ok((sent.get('v1') ?? 0) > 0 && (sent.get('v2') ?? 0) > 0, JSON.stringify([...sent]));
      let totals: VersionTotals[] = [];
      for (let i = 0; i < 60; i++) {
        totals = (await api<{ versions: VersionTotals[] }>('GET', `/api/v1/releases/${releaseId}/metrics`)).json.versions;
        if (totals.reduce((n, v) => n + v.totals.requests, 0) >= 800) break;
        await sleep(250);
      }
      for (const v of ['v1', 'v2']) {
        const t = totals.find((x) => x.version === v)?.totals;
        const want = sent.get(v) ?? 0;
        const counted = t?.requests ?? 0;
        const exact = counted === want || (v === alice && counted === want + 1);
        assert.ok(exact, `${v}: sent ${want}${v === alice ? ' (+ alice, if after the baseline)' : ''}, counted ${JSON.stringify(t)}`);
        // Every request is logged; a few whose log line came after their counted window closed are left out.
        assert.ok(t!.latencySamples <= counted && t!.latencySamples >= 0.95 * counted, `${v}: latency of ${JSON.stringify(t)}`);
      }
    } finally {
      await plane.stop();
    }
    await assert.rejects(request(`${plane.url}/checkout`), /ECONNREFUSED/, 'HAProxy stopped with the demo');
  });
});
