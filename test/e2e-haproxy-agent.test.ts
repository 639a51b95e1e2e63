/**
 * `tern agent haproxy` end to end: a real `tern server`, a real agent process (bin/tern)
 * driving a real HAProxy, version apps and steady user load. A healthy canary is promoted through
 * HAProxy by the default sequential analysis from the evidence the agent delivered, and its step
 * holds waited for the agent (`release.applied` names the HAProxy data plane). A bad canary is
 * rolled back through HAProxy and, in the same run under the same load, through the built-in
 * gateway: the two times to rollback are printed and must be of the same order.
 * HAProxy is Debian's 2.6 (installed by .ci/run); locally the test skips without it, never in CI.
 * Needs the built dist (`npx tsc -p tsconfig.json`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { HaproxyProcess } from '../src/providers/routers/haproxy/process.js';
import { apiCaller } from './support/api.js';
import { startLoad } from './support/load.js';
import { freePort } from './support/monitoring.js';
import { BIN, cleanEnv, killAll, startNode, startTernServer, startVersionApp, type Proc, type TernServer } from './support/processes.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
  reason: string | null;
}
interface VersionTotals {
  version: string;
  totals: { requests: number; errors: number };
}
interface AuditJson {
  action: string;
  at?: string | number;
  detail: { dataPlanes?: string[] } | null;
}

const DATA_PLANE = 'edge-hap';
const RPS = 100;

describe('tern agent haproxy end to end', { skip, timeout: 150_000 }, () => {
  let dir: string;
  let server: TernServer;
  let agent: Proc;
  let haproxyPid = 0;
  let haproxyUrl: string;
  const api = apiCaller(
    () => server.apiUrl,
    () => server.adminToken,
  );

  async function createService(name: string, prefix: string, stableUrl: string): Promise<void> {
    const created = await api('POST', '/api/v1/services', {
      name,
      match: { pathPrefix: prefix },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [stableUrl] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
  }

  async function startRelease(service: string, version: string, endpoint: string, steps: string): Promise<string> {
    const res = await api<{ id: string }>('POST', `/api/v1/services/${service}/releases`, { version, endpoints: [endpoint], steps });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return res.json.id;
  }

  async function waitForEnd(id: string, timeoutMs: number): Promise<ReleaseJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { json } = await api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
      if (['promoted', 'rolled_back', 'paused', 'failed'].includes(json.status)) return json;
      if (Date.now() > deadline) {
        const analysis = await api<{ verdicts: unknown[] }>('GET', `/api/v1/releases/${id}/analysis`);
        const last = JSON.stringify([analysis.json.verdicts[0], analysis.json.verdicts.at(-1)]);
        throw new Error(`release ${id} still ${json.status} (${json.reason}) after ${timeoutMs} ms; last verdict ${last}`);
      }
      await sleep(100);
    }
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-haproxy-'));
    server = await startTernServer(path.join(dir, 'server'));
    // A little noise on both sides (as in e2e-release): with no error at all the sequential
    // error-rate check can never show the canary is no worse.
    const stable = await startVersionApp('v1', { errorRate: 0.005 });
    // Through HAProxy: /hap; through the built-in gateway: /gw (HAProxy carries only "hap").
    await createService('hap', '/hap', stable.url);
    await createService('gw', '/gw', stable.url);
    const token = await api<{ secret: string }>('POST', '/api/v1/tokens', { name: DATA_PLANE, role: 'gateway' });
    await writeFile(path.join(dir, 'token'), `${token.json.secret}\n`, { mode: 0o600 });
    const port = await freePort();
    haproxyUrl = `http://127.0.0.1:${port}`;
    agent = startNode(
      [
        BIN,
        '-o',
        'json',
        'agent',
        'haproxy',
        '--control-plane',
        server.apiUrl,
        '--token-file',
        path.join(dir, 'token'),
        '--name',
        DATA_PLANE,
        '--services',
        'hap',
        '--state-dir',
        path.join(dir, 'agent'),
        '--listen',
        `127.0.0.1:${port}`,
        '--stop-proxy',
        // One request in 2 logged for latency (default 10), so 100 samples per version come in seconds at this load.
        '--sample',
        '2',
        '--log-level',
        'warn',
      ],
      cleanEnv(),
    );
    const [line] = await agent.waitFor(/\{.*"haproxyPid".*\}/);
    haproxyPid = (JSON.parse(line) as { haproxyPid: number }).haproxyPid;
    // The agent reports its status (with the services it carries) once it applied the table.
    for (let i = 0; ; i++) {
      const planes = await api<{ dataPlanes: { name?: string; dataPlane?: string; services: string[] | null }[] }>(
        'GET',
        '/api/v1/dataplanes',
      );
      const mine = planes.json.dataPlanes.find((p) => (p.name ?? p.dataPlane) === DATA_PLANE);
      if (mine) {
        assert.deepEqual(mine.services, ['hap'], 'the status report names the services the agent carries');
        break;
      }
      assert.ok(i < 100, `the agent never reported: ${agent.errors()}`);
      await sleep(100);
    }
  });

  after(async () => {
    await agent?.kill('SIGTERM'); // --stop-proxy: HAProxy stops too
    try {
      if (haproxyPid > 0) process.kill(haproxyPid, 'SIGTERM');
    } catch {
      // already stopped
    }
    await killAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('promotes a healthy canary through HAProxy from the evidence the agent delivered; each hold waited for the agent', async () => {
    const canary = await startVersionApp('v2', { errorRate: 0.005 });
    // The release's start and end add and remove servers at runtime: no HAProxy reload, so no
    // kept-alive user connection is closed (the client would retry a request sent on one once, as
    // browsers do, and count it).
    const haproxy = await HaproxyProcess.adopt({ bin: 'haproxy', dir: path.join(dir, 'agent'), logger: pino({ level: 'silent' }) });
    const worker = await haproxy!.workerPid();
    const load = startLoad(haproxyUrl, { rps: RPS, users: 2000, path: '/hap', maxSeconds: 60, retryReusedOnce: true });
    const id = await startRelease('hap', 'v2', canary.url, '30:6s,60:6s,100');
    const done = await waitForEnd(id, 50_000);
    const stats = await load.stop();
    console.log(
      `HAProxy release: ${stats.sent} requests, ${stats.failed} failed, ${stats.retried} retried once after their connection closed`,
    );
    assert.equal(done.status, 'promoted', done.reason ?? '');
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.equal(stats.retried, 0, 'no user connection was closed under a request');
    assert.equal(await haproxy!.workerPid(), worker, "the release's start and end did not reload HAProxy");
    assert.ok((stats.byVersion.get('v2') ?? 0) > 0, 'users reached the canary through HAProxy');

    // No user request reached the built-in gateway for "hap": every counted request came from HAProxy.
    const metrics = await api<{ versions: VersionTotals[] }>('GET', `/api/v1/releases/${id}/metrics`);
    const counted = new Map(metrics.json.versions.map((v) => [v.version, v.totals.requests]));
    console.log(`# haproxy e2e: sent ${stats.sent}, evidence counted v1=${counted.get('v1') ?? 0} v2=${counted.get('v2') ?? 0}`);
    assert.ok((counted.get('v2') ?? 0) >= 50, `canary evidence delivered by the agent: ${JSON.stringify(metrics.json.versions)}`);
    assert.ok((counted.get('v1') ?? 0) >= 50, 'stable evidence delivered by the agent');
    assert.ok((counted.get('v1') ?? 0) + (counted.get('v2') ?? 0) <= stats.sent, 'nothing counted twice');

    const events = await api<{ events: AuditJson[] }>('GET', `/api/v1/releases/${id}/events`);
    const applied = events.json.events.filter((e) => e.action === 'release.applied');
    assert.ok(applied.length >= 2, `every step's hold waited for the data planes: ${events.json.events.map((e) => e.action).join(', ')}`);
    for (const e of applied) assert.ok(e.detail?.dataPlanes?.includes(DATA_PLANE), JSON.stringify(e.detail));
  });

  it('rolls back a bad canary through HAProxy in the same order of time as through the built-in gateway', async () => {
    const [badHap, badGw] = await Promise.all([startVersionApp('v3', { errorRate: 0.1 }), startVersionApp('v3', { errorRate: 0.1 })]);
    const loads = [
      startLoad(haproxyUrl, { rps: RPS, users: 4000, path: '/hap', maxSeconds: 60 }),
      startLoad(server.gatewayUrl, { rps: RPS, users: 4000, path: '/gw', maxSeconds: 60 }),
    ];
    const timed = async (service: string, url: string): Promise<{ ms: number; release: ReleaseJson; timeline: string }> => {
      const t0 = Date.now();
      const id = await startRelease(service, 'v3', url, '20:5m,100');
      const release = await waitForEnd(id, 55_000);
      const ms = Date.now() - t0;
      // Where the time went: the audit events of the release, in ms from the API call.
      const events = await api<{ events: AuditJson[] }>('GET', `/api/v1/releases/${id}/events`);
      const timeline = events.json.events
        .map((e) => ({ action: e.action, at: e.at === undefined ? NaN : new Date(e.at).getTime() - t0 }))
        .sort((a, b) => a.at - b.at)
        .map((e) => `${e.action}@${e.at}`)
        .join(' ');
      return { ms, release, timeline };
    };
    const [hap, gw] = await Promise.all([timed('hap', badHap.url), timed('gw', badGw.url)]);
    await Promise.all(loads.map((l) => l.stop()));
    assert.equal(hap.release.status, 'rolled_back', hap.release.reason ?? '');
    assert.equal(gw.release.status, 'rolled_back', gw.release.reason ?? '');
    assert.match(hap.release.reason ?? '', /sequential judge failed .*error-(rate|ceiling)/);
    const ratio = hap.ms / gw.ms;
    console.log(`# time to rollback: HAProxy ${hap.ms} ms, built-in gateway ${gw.ms} ms, ratio ${ratio.toFixed(2)}`);
    console.log(`# HAProxy: ${hap.timeline}\n# gateway: ${gw.timeline}`);
    assert.ok(hap.ms <= 2 * gw.ms + 5000, `HAProxy ${hap.ms} ms vs gateway ${gw.ms} ms`);
  });
});
