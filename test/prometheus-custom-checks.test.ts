/**
 * The controller's custom-check reader against a real Prometheus scraping real shop processes
 * (one per version, prom-client counters): a ratio check's counts are the counters' exact growth
 * since the step's hold started — every request counted once, and the same again when re-read —
 * and every way a query can come back empty-handed (nothing, several series, bad PromQL,
 * Prometheus gone) is inconclusive with "no data from Prometheus: …" or a reason, never a verdict.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCustomChecks, type CheckedRelease } from '../src/control/custom-checks.js';
import { compileAnalysis } from '../src/core/plan.js';
import type { CustomCheckInput } from '../src/core/custom-checks.js';
import { monitoringAvailable, stopDaemons } from './support/monitoring.js';
import { killAll, ROOT, startNode } from './support/processes.js';
import { startRestartablePrometheus, type RestartablePrometheus } from './support/prometheus-restartable.js';

const APP = path.join(ROOT, 'test', 'fixtures', 'business-app.mjs');
const RATIO: CustomCheckInput = {
  name: 'checkout-failures',
  kind: 'ratio',
  events: 'sum(shop_checkout_failures_total{version="$version"})',
  total: 'sum(shop_checkouts_total{version="$version"})',
  interval: '1s',
  minTotal: 10,
};

function releaseWith(checks: CustomCheckInput[], holdStartedAt: number): CheckedRelease {
  return {
    id: 'rel_test',
    version: 'v2',
    baseline: { version: 'v1', endpoints: [] },
    stepIndex: 0,
    stepStartedAt: holdStartedAt,
    stepAppliedAt: null,
    analysis: compileAnalysis({ checks }),
  };
}

async function send(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await (await fetch(url)).text();
}

describe(
  'custom checks read from a real Prometheus',
  { skip: !monitoringAvailable() && 'prometheus is not installed', timeout: 120_000 },
  () => {
    let dir: string;
    let prom: RestartablePrometheus;
    const shops = new Map<string, string>();

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'tern-custom-read-'));
      for (const [v, rate] of [
        ['v1', 0],
        ['v2', 1],
      ] as const) {
        const proc = startNode([APP, '--version', v, '--failure-rate', String(rate)]);
        shops.set(v, `http://127.0.0.1:${(await proc.waitFor(/listening (\d+)/))[1]}`);
      }
      prom = await startRestartablePrometheus(
        dir,
        [...shops].map(([v, url]) => ({ job: `shop-${v}`, url })),
      );
    });
    after(async () => {
      await prom?.stop();
      await killAll();
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
    });

    it('counts each checkout since the hold started exactly once, and the same when read again', async () => {
      // Let Prometheus scrape both shops a few times first (its first scrape comes seconds after it starts).
      for (const deadline = Date.now() + 30_000; ; await sleep(200)) {
        let steady = 0;
        for (const metric of ['shop_checkouts_total', 'shop_checkout_failures_total']) {
          const q = encodeURIComponent(`count_over_time(${metric}[4s]) >= 3`);
          const body = (await (await fetch(`${prom.url}/api/v1/query?query=${q}`)).json()) as { data?: { result: unknown[] } };
          steady += body.data?.result.length ?? 0;
        }
        if (steady === 4) break;
        assert.ok(Date.now() < deadline, 'Prometheus never scraped the shops steadily');
      }
      const origin = Date.now();
      await send(shops.get('v1')!, 37);
      await send(shops.get('v2')!, 23);
      await sleep(3500); // two scrapes after the last request
      const checks = createCustomChecks({ prometheusUrl: prom.url });
      const release = releaseWith([RATIO], origin);
      const now = Date.now();
      const [first] = await checks.judge(release, now);
      const values = first?.custom?.values as { canary: { events: number; total: number }; stable: { events: number; total: number } };
      assert.deepEqual(
        [values.stable, values.canary],
        [
          { events: 0, total: 37 },
          { events: 23, total: 23 },
        ],
        first?.detail,
      );
      // Read again by another reader (a controller that took over): the same counts, not twice them.
      const [again] = await createCustomChecks({ prometheusUrl: prom.url }).judge(release, now + 1000);
      assert.deepEqual(again?.custom?.values.canary, values.canary);
      assert.deepEqual(again?.custom?.values.stable, values.stable);
      assert.equal(first?.outcome, 'fail', 'every canary checkout failed, none of stable');
    });

    it('holds with a reason when a query returns nothing, several series or bad PromQL, or Prometheus is gone', async () => {
      const origin = Date.now() - 5000;
      const judgeOne = async (check: CustomCheckInput) => {
        const [v] = await createCustomChecks({ prometheusUrl: prom.url }).judge(releaseWith([check], origin), Date.now());
        assert.ok(v);
        assert.deepEqual([v.outcome, v.sufficient], ['inconclusive', false], v.detail);
        return v.detail;
      };
      assert.match(
        await judgeOne({ ...RATIO, total: 'sum(no_such_metric{version="$version"})' }),
        /^no data from Prometheus: the total query returned nothing for v2 \(sum\(no_such_metric\{version="v2"\}\)\)/,
      );
      assert.match(
        await judgeOne({ ...RATIO, total: 'shop_checkouts_total or shop_checkout_failures_total{v="$version"}' }),
        /returned 2 series for v2; expected one/,
      );
      assert.match(
        await judgeOne({ ...RATIO, total: 'sum(shop_checkouts_total{version="$version"' }),
        /^no data from Prometheus: .* answered 400: .*parse error/,
      );
      assert.match(
        await judgeOne({ name: 'score', kind: 'gauge', query: 'avg(nothing{version="$version"})', min: 3 }),
        /^no data from Prometheus: the gauge query returned nothing for v2/,
      );
      await prom.stop();
      try {
        assert.match(await judgeOne(RATIO), /^no data from Prometheus: http:\/\/127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\)/);
      } finally {
        await prom.start();
      }
    });
  },
);
