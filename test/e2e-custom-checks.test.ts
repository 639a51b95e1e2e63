/**
 * Custom checks end to end: a real `tern server --prometheus-url` (bin/tern, the
 * built dist), a real Prometheus scraping real shop processes — one per version, each exporting
 * prom-client counters of checkouts and failed checkouts and a feedback-score gauge — and user
 * traffic through the built-in gateway. Every version answers 200, so the built-in checks stay
 * healthy and only the custom checks can decide:
 * - a canary whose checkout-failure ratio is 3× stable's is rolled back by the ratio check alone;
 * - a canary whose feedback score sits below its floor is rolled back by the gauge check, whose
 *   verdict says it is a threshold judgment;
 * - a healthy canary holds with "no data from Prometheus" while Prometheus is stopped (past its
 *   hold, neither promoted nor rolled back) and is promoted once Prometheus is back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiCaller } from './support/api.js';
import { startLoad, type Load } from './support/load.js';
import { monitoringAvailable, stopDaemons } from './support/monitoring.js';
import { killAll, ROOT, startNode, startTernServer, type TernServer } from './support/processes.js';
import { startRestartablePrometheus, type RestartablePrometheus } from './support/prometheus-restartable.js';

const APP = path.join(ROOT, 'test', 'fixtures', 'business-app.mjs');

interface Check {
  check: string;
  outcome: string;
  detail: string;
  custom?: { judgment: string; queries: Record<string, string>; values: Record<string, unknown> };
}
interface Verdict {
  outcome: string;
  checks: Check[];
}
interface ReleaseJson {
  id: string;
  status: string;
  stepIndex: number;
  reason: string | null;
}

const RATIO = {
  name: 'checkout-failures',
  kind: 'ratio',
  events: 'sum(shop_checkout_failures_total{version="$version"}) or vector(0)',
  total: 'sum(shop_checkouts_total{version="$version"})',
  interval: '2s',
  minTotal: 200,
};
const FEEDBACK = {
  name: 'feedback-score',
  kind: 'gauge',
  query: 'avg(shop_feedback_score{version="$version"})',
  direction: 'higher-is-better',
  min: 3.5,
  interval: '2s',
  evaluations: 3,
};
/** A release in one of these has ended: the service may take the next one. */
const ENDED = ['rolled_back', 'promoted', 'failed'];
const BUILTIN = ['error-rate', 'error-ceiling', 'latency', 'p99-ceiling', 'feedback'];

async function startShop(version: string, failureRate: number, feedback: number): Promise<string> {
  const proc = startNode([APP, '--version', version, '--failure-rate', String(failureRate), '--feedback', String(feedback)]);
  const [, port] = await proc.waitFor(/listening (\d+)/);
  return `http://127.0.0.1:${port}`;
}

describe(
  'custom checks from a real Prometheus, through tern server',
  { skip: !monitoringAvailable() && 'prometheus is not installed', timeout: 400_000 },
  () => {
    let dir: string;
    let prom: RestartablePrometheus;
    let server: TernServer;
    const shops = new Map<string, string>();
    const api = apiCaller(
      () => server.apiUrl,
      () => server.adminToken,
    );

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'tern-custom-'));
      // v1 stable; v2 fails 3× as many checkouts; v3 healthy; v4 healthy but rated low.
      for (const [v, rate, score] of [
        ['v1', 0.02, 4.5],
        ['v2', 0.06, 4.5],
        ['v3', 0.02, 4.6],
        ['v4', 0.02, 2.5],
      ] as const)
        shops.set(v, await startShop(v, rate, score));
      prom = await startRestartablePrometheus(
        dir,
        [...shops].map(([v, url]) => ({ job: `shop-${v}`, url })),
      );
      server = await startTernServer(path.join(dir, 'tern'), {}, ['--prometheus-url', prom.url]);
      const created = await api('POST', '/api/v1/services', {
        name: 'shop',
        match: { pathPrefix: '/' },
        stickiness: { header: 'x-user-id' },
        stable: { version: 'v1', endpoints: [shops.get('v1')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
    });
    after(async () => {
      await prom?.stop();
      await killAll();
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
    });

    async function release(version: string, steps: string, checks: unknown[]): Promise<string> {
      const res = await api<ReleaseJson>('POST', '/api/v1/services/shop/releases', {
        version,
        endpoints: [shops.get(version)],
        steps,
        analysis: { checks },
      });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json.id;
    }

    async function until(id: string, done: (r: ReleaseJson) => boolean, timeoutMs: number, what: string): Promise<ReleaseJson> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = (await api<ReleaseJson>('GET', `/api/v1/releases/${id}`)).json;
        if (done(r)) return r;
        assert.ok(Date.now() < deadline, `${what}: release is ${r.status} at step ${r.stepIndex}: ${r.reason ?? ''}`);
        await sleep(250);
      }
    }

    async function verdicts(id: string): Promise<Verdict[]> {
      return (await api<{ verdicts: Verdict[] }>('GET', `/api/v1/releases/${id}/analysis`)).json.verdicts;
    }

    async function withLoad<T>(fn: () => Promise<T>): Promise<T> {
      const load: Load = startLoad(server.gatewayUrl, { rps: 100, users: 400, maxSeconds: 150 });
      try {
        return await fn();
      } finally {
        await load.stop();
      }
    }

    it('rolls back a canary whose checkout-failure ratio is 3× stable, by the custom check alone', async () => {
      await withLoad(async () => {
        const started = Date.now();
        const id = await release('v2', '50:90s,100', [RATIO]);
        const r = await until(id, (x) => ENDED.includes(x.status), 100_000, 'rollback');
        assert.match(r.status, /^rolled_back$/, `the 3× canary was ${r.status}`);
        assert.match(r.reason ?? '', /checkout-failures: canary .* vs stable .*shown above 1\.1× stable's/);
        const failed = (await verdicts(id)).find((v) => v.outcome === 'fail');
        assert.ok(failed, 'a failing verdict is stored');
        const failing = failed.checks.filter((c) => c.outcome === 'fail').map((c) => c.check);
        assert.deepEqual(failing, ['checkout-failures'], 'only the custom check failed');
        assert.ok(
          failed.checks.some((c) => BUILTIN.includes(c.check)),
          'the built-in checks ran beside it',
        );
        // Its alert carries its name (what Alertmanager's TernCheckFailing labels `check` with).
        const alerts = (await api<{ alerts: { metric: string }[] }>('GET', `/api/v1/releases/${id}/analysis`)).json.alerts;
        assert.deepEqual(
          alerts.map((a) => a.metric),
          ['checkout-failures'],
        );
        const custom = failed.checks.find((c) => c.check === 'checkout-failures')!.custom!;
        assert.equal(custom.judgment, 'anytime-valid');
        assert.deepEqual(custom.queries, { events: RATIO.events, total: RATIO.total });
        const canary = custom.values.canary as { events: number; total: number };
        const stable = custom.values.stable as { events: number; total: number };
        assert.ok(canary.total >= 100 && stable.total >= 100, JSON.stringify(custom.values));
        // 6% vs 2% sent; the judge stops once it has shown "above 1.1×", so the sample may read lower than 3×.
        assert.ok(canary.events / canary.total > (1.3 * stable.events) / stable.total, JSON.stringify(custom.values));
        process.stdout.write(`# 3x checkout-failure canary rolled back ${Math.round((Date.now() - started) / 1000)} s after the start\n`);
      });
    });

    it('rolls back a canary whose feedback score is below its floor, labelled as a threshold judgment', async () => {
      await withLoad(async () => {
        const id = await release('v4', '50:90s,100', [FEEDBACK]);
        const r = await until(id, (x) => ENDED.includes(x.status), 60_000, 'gauge rollback');
        assert.match(r.status, /^rolled_back$/);
        assert.match(r.reason ?? '', /feedback-score: threshold, not anytime-valid: canary 2\.5, 2\.5, 2\.5 .*below min 3\.5/);
        const failed = (await verdicts(id)).find((v) => v.outcome === 'fail')!;
        const check = failed.checks.find((c) => c.check === 'feedback-score')!;
        assert.equal(check.custom?.judgment, 'threshold, not anytime-valid');
        assert.deepEqual(check.custom?.queries, { query: FEEDBACK.query });
      });
    });

    it('holds a healthy canary with "no data from Prometheus" while Prometheus is down, and promotes it once it is back', async () => {
      await withLoad(async () => {
        const holdMs = 20_000;
        const id = await release('v3', `50:${holdMs / 1000}s,100`, [RATIO, { ...FEEDBACK, min: null, tolerance: 0.2 }]);
        // Wait for a first real read of both checks, then take Prometheus away.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const latest = (await verdicts(id))[0];
          const read = latest?.checks.filter((c) => c.custom && Object.keys(c.custom.values).length > 0) ?? [];
          if (read.length === 2) break;
          assert.ok(Date.now() < deadline, `no custom check was read: ${JSON.stringify(latest)}`);
          await sleep(250);
        }
        await prom.stop();
        const stoppedAt = Date.now();
        let holding: Check | undefined;
        while (
          !(holding = (await verdicts(id))[0]?.checks.find(
            (c) => c.check === 'checkout-failures' && /^no data from Prometheus: /.test(c.detail),
          ))
        ) {
          assert.ok(Date.now() - stoppedAt < 15_000, 'no "no data from Prometheus" verdict within 15 s of the outage');
          await sleep(250);
        }
        assert.match(holding.detail, /unreachable/);
        // Past the step's hold (and then some), the release is still on its first step.
        const release0 = (await api<{ stepAppliedAt: string | null; stepStartedAt: string }>('GET', `/api/v1/releases/${id}`)).json;
        const holdEnds = Date.parse(release0.stepAppliedAt ?? release0.stepStartedAt) + holdMs;
        await sleep(Math.max(0, holdEnds + 8000 - Date.now()));
        const held = (await api<ReleaseJson>('GET', `/api/v1/releases/${id}`)).json;
        assert.deepEqual([held.status, held.stepIndex], ['progressing', 0], `while Prometheus is down: ${held.reason ?? ''}`);
        const outageMs = Date.now() - stoppedAt;
        await prom.start();
        const back = Date.now();
        const done = await until(id, (x) => [...ENDED, 'paused'].includes(x.status), 60_000, 'promotion');
        assert.match(done.status, /^promoted$/, `after Prometheus came back: ${done.reason ?? ''}`);
        process.stdout.write(
          `# held ${Math.round(outageMs / 1000)} s without Prometheus; promoted ${Math.round((Date.now() - back) / 1000)} s after it came back\n`,
        );
      });
    });
  },
);
