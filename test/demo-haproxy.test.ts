/**
 * `tern demo --data-plane haproxy`'s data plane against a real `tern server` and a real HAProxy:
 * it follows the control plane (users reach the service's stable version through HAProxy),
 * reports itself as an HAProxy data plane, and `stop()` stops HAProxy (the demo leaves nothing
 * behind). Skips locally without haproxy, never in CI (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
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
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;

describe('tern demo --data-plane haproxy: the data plane', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let server: TernServer;
  const api = apiCaller(
    () => server.apiUrl,
    () => server.adminToken,
  );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-demo-haproxy-'));
    server = await startTernServer(path.join(dir, 'server'));
    const stable = await startVersionApp('v1');
    const created = await api('POST', '/api/v1/services', {
      name: 'demo-shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [stable.url] },
    });
    assert.equal(created.status, 201);
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
      assert.equal((await res.body.text()).trim(), 'v1');
      const planes = await api<{ dataPlanes: { name: string; kind: string; state: string }[] }>('GET', '/api/v1/dataplanes');
      const mine = planes.json.dataPlanes.find((p) => p.name === DEMO_HAPROXY);
      assert.equal(mine?.kind, 'haproxy', JSON.stringify(planes.json));
      assert.equal(mine.state, 'live');
    } finally {
      await plane.stop();
    }
    await assert.rejects(request(`${plane.url}/checkout`), /ECONNREFUSED/, 'HAProxy stopped with the demo');
  });
});
