/**
 * Sampled latency: an external data plane may time only 1 request in 10. The judges
 * must then count latency evidence by the histogram's own samples — the bands as wide as 1/10
 * of the traffic makes them — and error evidence by the exact request and error counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { record, totalCount, type LatencyHistogram } from '../core/latency-histogram.js';
import { compileAnalysis } from '../core/plan.js';
import type { EvidenceWindow } from './evidence.js';
import { judgeWindows } from './judge.js';
import { binomial, normal, seededRandom } from './simulate.js';
import type { CheckVerdict, JudgeResult } from './verdict.js';

const SECONDS = 60;

/** One arm's second: `n` requests, 1% errors, log-normal latency around 20 ms, every `sampleEvery`-th request timed. */
function arm(rand: () => number, n: number, sampleEvery: number) {
  const latency: LatencyHistogram = {};
  for (let i = 0; i < n; i++) {
    const ms = 20 * Math.exp(0.5 * normal(rand));
    if (i % sampleEvery === 0) record(latency, ms);
  }
  return { requests: n, errors: binomial(rand, n, 0.01), latency, feedbackSum: 0, feedbackCount: 0 };
}

/** A minute at `rps` with 10% on the canary; the same seed gives the same requests, errors and latencies. */
function step(rps: number, sampleEvery: number): EvidenceWindow[] {
  const rand = seededRandom(42);
  return Array.from({ length: SECONDS }, (_, t) => ({
    start: t * 1000,
    stable: arm(rand, rps * 0.9, sampleEvery),
    canary: arm(rand, rps * 0.1, sampleEvery),
  }));
}

const config = compileAnalysis({ errorRate: { max: 0.05 }, latency: { p99MaxMs: 500 }, warmup: '0s' });
const judged = (windows: EvidenceWindow[], judge: 'sequential' | 'threshold' | 'mann-whitney' = 'sequential'): JudgeResult =>
  judgeWindows({ ...config, judge }, { windows, stepStartedAt: 0, now: SECONDS * 1000, holdMs: SECONDS * 1000 });
const check = (r: JudgeResult, name: string): CheckVerdict => {
  const c = r.checks.find((x) => x.check === name);
  assert.ok(c, `no ${name} check in ${r.checks.map((x) => x.check).join(', ')}`);
  return c;
};

describe('latency sampled 1:10', () => {
  const full = step(1000, 1);
  const sampled = step(1000, 10);
  const small = step(100, 1); // as many latency samples as `sampled`, every request timed
  const canarySamples = sampled.reduce((n, w) => n + totalCount(w.canary.latency), 0);

  it('the windows hold what a sampling data plane reports: exact requests, a tenth of them timed', () => {
    assert.equal(
      sampled.reduce((n, w) => n + w.canary.requests, 0),
      6000,
    );
    assert.equal(canarySamples, 600);
    assert.equal(
      small.reduce((n, w) => n + totalCount(w.canary.latency), 0),
      600,
    );
  });

  it('the latency band is as wide as the sample size makes it, not the request count', () => {
    for (const name of ['latency', 'p99-ceiling']) {
      const [s, f, m] = [check(judged(sampled), name), check(judged(full), name), check(judged(small), name)];
      assert.equal(s.canarySamples, 600, name);
      assert.equal(s.canarySamples, m.canarySamples, name);
      assert.equal(s.stableSamples, m.stableSamples, name);
      assert.equal(f.canarySamples, 6000, name);
    }
    const band = (r: JudgeResult): number => check(r, 'latency').bound ?? Number.NaN;
    assert.equal(band(judged(sampled)), band(judged(small)), 'the same band as 600 timed requests');
    assert.ok(band(judged(sampled)) > 2 * band(judged(full)), `${band(judged(sampled))} vs ${band(judged(full))}`);
    // The p99 ceiling's anytime bounds widen too: p99 of 600 samples is bounded less tightly than of 6000.
    assert.match(check(judged(sampled), 'p99-ceiling').detail, /anytime bounds/);
    assert.doesNotMatch(check(judged(sampled), 'p99-ceiling').detail, /not enough/);
  });

  it('the error checks are unchanged: the exact requests and errors decide them', () => {
    for (const name of ['error-rate', 'error-ceiling']) assert.deepEqual(check(judged(sampled), name), check(judged(full), name), name);
    assert.equal(check(judged(sampled), 'error-rate').canarySamples, 6000);
  });

  it('the threshold and Mann-Whitney judges also count latency by its samples', () => {
    for (const judge of ['threshold', 'mann-whitney'] as const) {
      const s = judged(sampled, judge);
      const f = judged(full, judge);
      const latencyCheck = judge === 'threshold' ? 'p99-ceiling' : 'latency';
      const errorCheck = judge === 'threshold' ? 'error-ceiling' : 'error-rate';
      assert.equal(check(s, latencyCheck).canarySamples, 600, judge);
      assert.deepEqual(check(s, errorCheck), check(f, errorCheck), judge);
    }
  });

  it('Mann-Whitney takes no median from an interval that had requests but no latency sample', () => {
    // Timed 1 in 1000: most one-second intervals of the canary have no sample at all.
    const sparse = step(1000, 1000).map((w, i) => (i % 3 === 0 ? w : { ...w, canary: { ...w.canary, latency: {} } }));
    const r = judgeWindows(
      { ...config, judge: 'mann-whitney', intervalMs: 1000 },
      { windows: sparse, stepStartedAt: 0, now: SECONDS * 1000, holdMs: SECONDS * 1000 },
    );
    const latency = check(r, 'latency');
    assert.equal(latency.canarySamples, 20);
    assert.notEqual(latency.outcome, 'fail', latency.detail);
    assert.ok(latency.statistic !== null && latency.statistic > 0.5, `median ratio ${latency.statistic}: empty intervals read as 0 ms`);
  });
});
