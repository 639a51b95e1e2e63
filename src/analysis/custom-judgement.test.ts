/**
 * Custom checks judged on synthetic counts: a ratio check is the error-rate count
 * test on other counters — a 3× worse canary fails, an equal one passes, A/A runs stay quiet,
 * higher-is-better ratios fail a canary whose conversion drops — and a gauge check is a labelled
 * threshold rule over its last N looks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileCustomChecks, type CustomCheckInput, type GaugeCheck, type RatioCheck } from '../core/custom-checks.js';
import { judgeGauge, judgeRatio, THRESHOLD_LABEL, type RatioWindow } from './custom-judgement.js';
import { binomial, seededRandom } from './simulate.js';

const ratio = (extra: Partial<CustomCheckInput> = {}): RatioCheck =>
  compileCustomChecks([
    {
      name: 'checkout-failures',
      kind: 'ratio',
      events: 'sum(fail{version="$version"})',
      total: 'sum(all{version="$version"})',
      ...extra,
    },
  ])[0] as RatioCheck;

const gauge = (extra: Partial<CustomCheckInput>): GaugeCheck =>
  compileCustomChecks([{ name: 'feedback-score', kind: 'gauge', query: 'avg(score{version="$version"})', ...extra }])[0] as GaugeCheck;

const ctx = { prometheus: 'http://prom:9090', alpha: 0.01, minTotal: 100 };

/** `n` windows of per-version totals with Binomial events at the given rates. */
function windows(
  seed: number,
  n: number,
  perWindow: { canary: number; stable: number },
  rate: { canary: number; stable: number },
): RatioWindow[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    start: i * 10_000,
    canary: { total: perWindow.canary, events: binomial(rand, perWindow.canary, rate.canary) },
    stable: { total: perWindow.stable, events: binomial(rand, perWindow.stable, rate.stable) },
  }));
}

/** The first number of windows at which the check fails, or null. */
function firstFail(check: RatioCheck, ws: readonly RatioWindow[]): number | null {
  for (let i = 1; i <= ws.length; i++) if (judgeRatio(check, ws.slice(0, i), ctx).outcome === 'fail') return i;
  return null;
}

describe('ratio checks (anytime-valid count test)', () => {
  it('fails a canary whose failure ratio is 3× stable, with the values and queries in the verdict', () => {
    const ws = windows(1, 60, { canary: 100, stable: 400 }, { canary: 0.06, stable: 0.02 });
    const at = firstFail(ratio(), ws);
    assert.ok(at !== null && at <= 30, `failed after ${at} windows`);
    const v = judgeRatio(ratio(), ws.slice(0, at), ctx);
    assert.equal(v.check, 'checkout-failures');
    assert.equal(v.custom?.judgment, 'anytime-valid');
    assert.deepEqual(v.custom?.queries, { events: 'sum(fail{version="$version"})', total: 'sum(all{version="$version"})' });
    assert.match(v.detail, /shown above 1\.1× stable's/);
    assert.ok((v.statistic ?? 0) > 0.04, `canary ratio ${v.statistic}`);
  });

  it('passes an equal canary once the evidence is there, and never fails it (A/A over 40 seeds)', () => {
    let failures = 0;
    let passes = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const ws = windows(seed, 60, { canary: 200, stable: 400 }, { canary: 0.02, stable: 0.02 });
      if (firstFail(ratio({ tolerance: 0.5 }), ws) !== null) failures++;
      if (judgeRatio(ratio({ tolerance: 0.5 }), ws, ctx).outcome === 'pass') passes++;
    }
    assert.equal(failures, 0);
    assert.ok(passes >= 30, `${passes} of 40 equal canaries shown within tolerance`);
  });

  it('does not fail a difference smaller than minDifference (absolute part of the tolerance)', () => {
    // 0.2% vs 0.1%: twice the ratio, but only 0.1 percentage points apart.
    const ws = windows(3, 200, { canary: 2000, stable: 2000 }, { canary: 0.002, stable: 0.001 });
    assert.equal(firstFail(ratio({ minDifference: 0.005 }), ws), null);
    assert.notEqual(firstFail(ratio({ minDifference: 0 }), ws), null);
  });

  it('higher-is-better: a conversion that drops from 30% to 10% fails; one that rises does not', () => {
    const drop = windows(4, 40, { canary: 100, stable: 300 }, { canary: 0.1, stable: 0.3 });
    const check = ratio({ direction: 'higher-is-better' });
    assert.notEqual(firstFail(check, drop), null);
    assert.match(judgeRatio(check, drop, ctx).detail, /below stable's \/ 1\.1/);
    const rise = windows(5, 40, { canary: 100, stable: 300 }, { canary: 0.5, stable: 0.3 });
    assert.equal(firstFail(check, rise), null);
    // Read as lower-is-better, the same rise is a regression.
    assert.notEqual(firstFail(ratio(), rise), null);
  });

  it('an absolute ceiling fails a canary above it even when stable is as bad', () => {
    const ws = windows(6, 30, { canary: 500, stable: 500 }, { canary: 0.2, stable: 0.2 });
    assert.notEqual(firstFail(ratio({ max: 0.1 }), ws), null);
    assert.equal(firstFail(ratio(), ws), null);
  });

  it('is insufficient and undecided below minTotal', () => {
    const v = judgeRatio(ratio(), windows(7, 1, { canary: 10, stable: 10 }, { canary: 0, stable: 0 }), ctx);
    assert.equal(v.outcome, 'inconclusive');
    assert.equal(v.sufficient, false);
    assert.match(v.detail, /not enough canary total yet: 10 of 100/);
  });
});

describe('gauge checks (threshold, not anytime-valid)', () => {
  const looks = (canary: number[], stable: number[] = []) =>
    canary.map((c, i) => ({ at: i * 10_000, canary: c, stable: stable[i] ?? null }));

  it('fails when the last N looks are all below min, saying it is a threshold judgment', () => {
    const v = judgeGauge(gauge({ min: 4 }), looks([4.5, 3.2, 3.1, 3.3]), 'http://prom:9090');
    assert.equal(v.outcome, 'fail');
    assert.ok(v.detail.startsWith(`${THRESHOLD_LABEL}:`), v.detail);
    assert.match(v.detail, /below min 4/);
    assert.equal(v.custom?.judgment, THRESHOLD_LABEL);
  });

  it('passes N good looks, waits with fewer, and holds (insufficient) while the newest look is bad', () => {
    assert.equal(judgeGauge(gauge({ min: 4 }), looks([4.5, 4.4, 4.6]), '').outcome, 'pass');
    const few = judgeGauge(gauge({ min: 4 }), looks([4.5]), '');
    assert.deepEqual([few.outcome, few.sufficient], ['inconclusive', false]);
    const mixed = judgeGauge(gauge({ min: 4 }), looks([3, 4.5, 3]), '');
    assert.deepEqual([mixed.outcome, mixed.sufficient], ['inconclusive', false]);
  });

  it('compares canary with stable: higher-is-better fails more than tolerance × stable below it', () => {
    const check = gauge({ tolerance: 0.1, direction: 'higher-is-better' });
    assert.equal(judgeGauge(check, looks([3.5, 3.6, 3.5], [4.5, 4.5, 4.5]), '').outcome, 'fail');
    assert.equal(judgeGauge(check, looks([4.3, 4.2, 4.4], [4.5, 4.5, 4.5]), '').outcome, 'pass');
    const lower = gauge({ tolerance: 0.5, minDifference: 10 });
    // Queue depth 14 vs 8: 75% more, but only 6 items: within the absolute part.
    assert.equal(judgeGauge(lower, looks([14, 14, 14], [8, 8, 8]), '').outcome, 'pass');
    assert.equal(judgeGauge(lower, looks([30, 30, 30], [8, 8, 8]), '').outcome, 'fail');
  });
});
