/**
 * Prometheus-sourced releases end to end: a real `tern server --data-plane none --prometheus-url`
 * (bin/tern, built dist), a real Prometheus scraping every second a plain node proxy Tern does
 * not measure (test/fixtures/prom-proxy.mjs: splits by the release's weight, exports prom-client
 * counters and histograms labelled by version), and separate version processes. The service
 * is judged from the Prometheus source only: a canary with 3× stable's errors is rolled back, a
 * healthy one promoted, both with verdicts and the queries they used stored; Prometheus
 * stopped mid-release holds the release ("no data from Prometheus: …", never a rollback) and
 * it resumes and is promoted once Prometheus answers again. Last, the same bad canary on the
 * same traffic through the built-in gateway, for the detection time it takes without a scrape.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { apiCaller } from './support/api.js';
import { startLoad, type Load } from './support/load.js';
import { freePort, monitoringAvailable, startPrometheus, stopDaemons, type Daemon } from './support/monitoring.js';
import { BIN, ROOT, cleanEnv, killAll, startNode, startTernServer, startVersionApp } from './support/processes.js';

const TOKEN = 'e2e-prometheus-admin-token-0123456789';
const PROXY = path.join(ROOT, 'test', 'fixtures', 'prom-proxy.mjs');
const QUERIES = {
  requests: 'sum(shop_requests_total{version="$version"})',
  errors: 'sum(shop_requests_total{version="$version",code=~"5.."})',
  latencyBuckets: 'sum by (le) (shop_request_duration_seconds_bucket{version="$version"})',
};
const STABLE_ERRORS = 0.05;
/** Bad-canary releases timed per source (TERN_E2E_DETECTION_RUNS, default 1): the figures in docs/metrics.md used 5. */
const RUNS = Math.max(1, Number(process.env.TERN_E2E_DETECTION_RUNS ?? 1));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface ReleaseJson {
  id: string;
  status: string;
  stepIndex: number;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
}
interface AuditJson {
  events: Array<{ action: string; at: string; reason: string | null; detail: Record<string, unknown> | null }>;
}
interface AnalysisJson {
  verdicts: Array<{
    outcome: string;
    checks: Array<{ check: string; outcome: string; statistic: number | null; canarySamples: number; detail: string }>;
  }>;
}

describe(
  'a Prometheus-sourced release through tern server',
  { skip: !monitoringAvailable() && 'prometheus is not installed', timeout: 360_000 + 60_000 * RUNS },
  () => {
    let dir = '';
    let apiUrl = '';
    let prometheus: { url: string; proc: Daemon };
    let load: Load;
    const api = apiCaller(
      () => apiUrl,
      () => TOKEN,
    );
    const figures: string[] = [];

    /** Polls the release until `done` holds; returns it. */
    async function until(id: string, done: (r: ReleaseJson) => boolean, timeoutMs: number, base = api): Promise<ReleaseJson> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { json } = await base<ReleaseJson>('GET', `/api/v1/releases/${id}`);
        if (done(json)) return json;
        if (Date.now() > deadline) throw new Error(`release ${id} still ${json.status} (${json.reason}) after ${timeoutMs} ms`);
        await sleep(250);
      }
    }

    async function events(id: string, base = api): Promise<AuditJson['events']> {
      return (await base<AuditJson>('GET', `/api/v1/releases/${id}/events`)).json.events;
    }

    /** From the step's weight being applied to the rollback, seconds. */
    async function detectionSeconds(id: string, base = api): Promise<number> {
      const list = await events(id, base);
      // The hold (and the evidence) starts when the data planes applied the weight; without any, at the start.
      const start = list.find((e) => e.action === 'release.applied') ?? list.find((e) => e.action === 'release.start');
      const rollback = list.find((e) => e.action === 'release.rollback');
      assert.ok(start && rollback, JSON.stringify(list.map((e) => e.action)));
      return (Date.parse(rollback.at) - Date.parse(start.at)) / 1000;
    }

    /** Starts a bad release on `base`'s service shop, waits for its rollback; the detection time in seconds. */
    async function timeBadRelease(base: typeof api, version: string, endpoint: string): Promise<number> {
      const started = await base<ReleaseJson>('POST', '/api/v1/services/shop/releases', release(version, endpoint, '120s'));
      assert.equal(started.status, 201, JSON.stringify(started.json));
      const done = await until(started.json.id, (r) => r.status === 'rolled_back' || r.status === 'promoted', 120_000, base);
      assert.equal(done.status, 'rolled_back', done.reason ?? '');
      return detectionSeconds(started.json.id, base);
    }

    const release = (version: string, endpoint: string, hold: string) => ({
      version,
      endpoints: [endpoint],
      steps: [{ weight: 50, hold }, { weight: 100 }],
      // No absolute ceiling: the canary-vs-stable comparison is what must catch 3× the errors.
      analysis: { minRequests: 200, errorRate: { max: null } },
    });

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-prom-'));
      const stable = await startVersionApp('v1', { errorRate: STABLE_ERRORS, delayMs: 4 });
      const proxyPort = await freePort();
      prometheus = await startPrometheus(dir, [{ job: 'shop-proxy', url: `http://127.0.0.1:${proxyPort}/metrics` }]);
      const server = startNode(
        [
          BIN,
          'server',
          '--data-dir',
          path.join(dir, 'tern'),
          '--api-port',
          '0',
          '--data-plane',
          'none',
          '--prometheus-url',
          prometheus.url,
          '--log-level',
          'warn',
        ],
        cleanEnv({ TERN_ADMIN_TOKEN: TOKEN }),
      );
      apiUrl = (await server.waitFor(/Tern API listening on (\S+)/))[1]!;
      const created = await api('POST', '/api/v1/services', {
        name: 'shop',
        match: { pathPrefix: '/' },
        stable: { version: 'v1', endpoints: [stable.url] },
        metrics: { source: 'prometheus', prometheus: { template: 'custom', queries: QUERIES, scrapeIntervalMs: 1000 } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const proxy = startNode([PROXY, '--api', apiUrl, '--token', TOKEN, '--service', 'shop', '--port', String(proxyPort)]);
      await proxy.waitFor(/listening (\d+)/);
      load = startLoad(`http://127.0.0.1:${proxyPort}`, { rps: 100, users: 200, maxSeconds: 300 + 60 * RUNS });
    });

    after(async () => {
      prometheus?.proc.child.kill('SIGCONT');
      await load?.stop();
      await killAll();
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
      if (figures.length) console.log(figures.join('\n'));
    });

    it('rolls back a canary with 3× stable’s errors, judged from Prometheus, with the queries and values stored', async () => {
      const bad = await startVersionApp('v2', { errorRate: 3 * STABLE_ERRORS, delayMs: 4 });
      const started = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', release('v2', bad.url, '120s'));
      assert.equal(started.status, 201, JSON.stringify(started.json));
      const id = started.json.id;
      const done = await until(id, (r) => r.status === 'rolled_back' || r.status === 'promoted', 120_000);
      assert.equal(done.status, 'rolled_back', done.reason ?? '');
      assert.match(done.reason ?? '', /error/);
      const seconds = [await detectionSeconds(id)];
      for (let i = 1; i < RUNS; i++) seconds.push(await timeBadRelease(api, `v2r${i}`, bad.url));
      figures.push(
        `Prometheus source (scrape 1 s, window 1 s, read lag 2 s): bad canary rolled back after ${seconds.map((x) => x.toFixed(1)).join(', ')} s (median ${median(seconds).toFixed(1)} s) from its weight being applied`,
      );
      const rollback = (await events(id)).find((e) => e.action === 'release.rollback')!;
      assert.equal(rollback.detail?.source, 'prometheus');
      assert.deepEqual((rollback.detail?.queries as Record<string, string>).requests, QUERIES.requests);
      const { verdicts } = (await api<AnalysisJson>('GET', `/api/v1/releases/${id}/analysis`)).json;
      const failed = verdicts.find((v) => v.outcome === 'fail');
      const errorRate = failed?.checks.find((c) => c.check === 'error-rate');
      assert.equal(errorRate?.outcome, 'fail', JSON.stringify(verdicts[0]));
      assert.ok((errorRate?.canarySamples ?? 0) > 0 && errorRate?.statistic !== null);
    });

    it('promotes a healthy canary judged from Prometheus', async () => {
      const good = await startVersionApp('v3', { errorRate: STABLE_ERRORS, delayMs: 4 });
      const started = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', release('v3', good.url, '25s'));
      assert.equal(started.status, 201, JSON.stringify(started.json));
      const done = await until(started.json.id, (r) => r.status === 'rolled_back' || r.status === 'promoted', 150_000);
      assert.equal(done.status, 'promoted', done.reason ?? '');
      const { verdicts } = (await api<AnalysisJson>('GET', `/api/v1/releases/${started.json.id}/analysis`)).json;
      const latency = verdicts.flatMap((v) => v.checks).filter((c) => c.check === 'latency' && c.canarySamples > 0);
      assert.ok(
        latency.some((c) => /bucket/.test(c.detail)),
        `a latency verdict names the buckets’ resolution: ${JSON.stringify(latency.map((c) => c.detail))}`,
      );
    });

    it('holds with "no data from Prometheus" while Prometheus is stopped, never rolls back, and resumes when it is back', async () => {
      const good = await startVersionApp('v4', { errorRate: STABLE_ERRORS, delayMs: 4 });
      const started = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', release('v4', good.url, '20s'));
      assert.equal(started.status, 201, JSON.stringify(started.json));
      const id = started.json.id;
      await until(id, (r) => r.status === 'progressing', 20_000);
      await sleep(5000);
      prometheus.proc.child.kill('SIGSTOP');
      const held = await until(id, (r) => /no data from Prometheus/.test(r.reason ?? '') || r.status !== 'progressing', 30_000);
      assert.equal(held.status, 'progressing', held.reason ?? '');
      assert.match(held.reason ?? '', /^no data from Prometheus: /);
      // Longer than the step's hold: without data it neither advances, nor promotes, nor rolls back.
      for (let i = 0; i < 25; i++) {
        const { json } = await api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
        assert.equal(json.status, 'progressing', json.reason ?? '');
        assert.equal(json.stepIndex, 0);
        await sleep(1000);
      }
      prometheus.proc.child.kill('SIGCONT');
      const done = await until(id, (r) => r.status === 'rolled_back' || r.status === 'promoted', 120_000);
      assert.equal(done.status, 'promoted', done.reason ?? '');
      const actions = (await events(id)).map((e) => e.action);
      assert.ok(actions.includes('release.no-data') && actions.includes('release.data-resumed'), actions.join(' '));
      assert.ok(!actions.includes('release.rollback'));
    });

    it('the same bad canary on the same traffic through the built-in gateway, for comparison', async () => {
      const builtinDir = path.join(dir, 'builtin');
      const server = await startTernServer(builtinDir, { TERN_ADMIN_TOKEN: TOKEN });
      const call = apiCaller(
        () => server.apiUrl,
        () => TOKEN,
      );
      const stable = await startVersionApp('v1', { errorRate: STABLE_ERRORS, delayMs: 4 });
      const bad = await startVersionApp('v2', { errorRate: 3 * STABLE_ERRORS, delayMs: 4 });
      const created = await call('POST', '/api/v1/services', {
        name: 'shop',
        match: { pathPrefix: '/' },
        stable: { version: 'v1', endpoints: [stable.url] },
      });
      assert.equal(created.status, 201);
      const gatewayLoad = startLoad(server.gatewayUrl, { rps: 100, users: 200, maxSeconds: 120 + 40 * RUNS });
      try {
        await sleep(2000);
        const seconds: number[] = [];
        for (let i = 0; i < RUNS; i++) seconds.push(await timeBadRelease(call, i === 0 ? 'v2' : `v2r${i}`, bad.url));
        figures.push(
          `built-in source (gateway, 1 s windows pushed every second): bad canary rolled back after ${seconds.map((x) => x.toFixed(1)).join(', ')} s (median ${median(seconds).toFixed(1)} s) from its weight being applied`,
        );
      } finally {
        await gatewayLoad.stop();
      }
    });
  },
);
