/**
 * Latency from bucketed sources (Prometheus `le` histograms): a canary 10% slower
 * than stable (inside a 20% tolerance) whose requests fall just past a bucket bound reads as
 * 2.5× slower at the bounds; compared as if the bounds were exact latencies it would fail. With
 * the bounds known, the comparison claims no precision the buckets lack: no failure, and it
 * says the buckets are coarser than the tolerance — yet a canary slower by more than a bucket
 * still fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { record, type LatencyHistogram } from '../core/latency-histogram.js';
import { compareLatency } from './latency-bands.js';
import { judgeWindows } from './judge.js';
import { compileAnalysis } from '../core/plan.js';

const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000];
/** n requests recorded at the bucket bound that holds `ms` (as the Prometheus source does). */
function bucketed(ms: number, n: number): LatencyHistogram {
  const h: LatencyHistogram = {};
  record(
    h,
    BOUNDS.find((b) => b >= ms)!,
    n,
  );
  return h;
}

describe('bucketed latency', () => {
  const stable = bucketed(95, 5000); // truly 95 ms: reads as 100
  const slightlySlower = bucketed(105, 5000); // truly 105 ms (+10%): reads as 250

  it('read as exact latencies, a 10% slowdown across a bound looks like 150% and fails', () => {
    assert.equal(compareLatency(stable, slightlySlower, 0.2, 0.01).worse, true);
  });

  it('with the bounds known it does not fail, and says the buckets are coarser than the tolerance', () => {
    const v = compareLatency(stable, slightlySlower, 0.2, 0.01, 0, BOUNDS);
    assert.equal(v.worse, false);
    assert.equal(v.noWorse, false, 'nor can it pass: a bucket hides up to 150%');
    assert.deepEqual(v.coarse, { lowMs: 50, highMs: 100 });
  });

  it('a canary slower by more than a bucket still fails', () => {
    assert.equal(compareLatency(stable, bucketed(400, 5000), 0.2, 0.01, 0, BOUNDS).worse, true);
  });

  it('the judge’s verdict names the resolution, and a source without latency is not judged for it', () => {
    const analysis = compileAnalysis(undefined);
    const windows = Array.from({ length: 20 }, (_, i) => ({
      start: i * 1000,
      stable: { requests: 250, errors: 0, latency: bucketed(95, 250), feedbackSum: 0, feedbackCount: 0 },
      canary: { requests: 250, errors: 0, latency: bucketed(105, 250), feedbackSum: 0, feedbackCount: 0 },
    }));
    const timing = { windows, stepStartedAt: 0, now: 60_000, holdMs: 30_000, firstCanaryAt: 0 };
    const coarse = judgeWindows(analysis, { ...timing, latencyBounds: BOUNDS }).checks.find((c) => c.check === 'latency')!;
    assert.notEqual(coarse.outcome, 'fail');
    assert.match(coarse.detail, /buckets 50–100 ms are coarser than the tolerance/);
    const none = judgeWindows(analysis, { ...timing, latencyBounds: [] }).checks.find((c) => c.check === 'latency')!;
    assert.equal(none.outcome, 'inconclusive');
    assert.equal(none.sufficient, true);
    assert.match(none.detail, /no latency histogram/);
  });
});
