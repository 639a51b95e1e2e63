/** Unit tests for the plain-words description of analysis settings (CLI and dashboard share it). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeChecks, judgeWords, spokenDuration } from './analysis-words.js';
import { compileAnalysis } from './plan.js';

/** A compiled config as the API presents it (warm-up and interval in ms, threshold named as in the API). */
function asApi(input: Parameters<typeof compileAnalysis>[0]) {
  const a = compileAnalysis(input);
  return { ...a, threshold: a.failureThreshold };
}

describe('analysis settings in plain words', () => {
  it('says the defaults as an operator would', () => {
    const a = asApi(undefined);
    assert.deepEqual(describeChecks(a), [
      'latency: fails when 20% and 5 ms slower; no p99 ceiling',
      'errors: above 1.1× stable and +0.05 pp; ceiling 5%',
      'warm-up 10 s',
      'feedback: not checked',
    ]);
    assert.equal(judgeWords(a), 'sequential judge, looks every 1 s, 100 requests per version; on failure: roll back');
  });

  it('follows every setting', () => {
    const a = asApi({
      judge: 'threshold',
      onFailure: 'pause',
      threshold: 3,
      warmup: 0,
      errorRate: { tolerance: 1, minDifference: 0, max: null },
      latency: { tolerance: 0, minDifferenceMs: 20, p99MaxMs: 1500 },
      feedback: { tolerance: 0.25, minScore: 3.5 },
    });
    assert.deepEqual(describeChecks(a), [
      'latency: fails when 20 ms slower; p99 ceiling 1.5 s',
      'errors: above 2× stable; no ceiling',
      'no warm-up',
      'feedback: fails when 0.25 points below stable or below 3.5',
    ]);
    assert.equal(
      judgeWords(a),
      'threshold judge, 1 min intervals, fails after 3 failed intervals, 100 requests per version; on failure: pause',
    );
  });

  it('skips what an older server does not send', () => {
    assert.deepEqual(describeChecks({ judge: 'sequential' }), ['feedback: not checked']);
    assert.equal(judgeWords({ judge: 'sequential', onFailure: 'rollback' }), 'sequential judge; on failure: roll back');
  });

  it('speaks durations in the unit that reads best', () => {
    assert.equal(spokenDuration(250), '250 ms');
    assert.equal(spokenDuration(15_000), '15 s');
    assert.equal(spokenDuration(90_000), '1 min 30 s');
    assert.equal(spokenDuration(120_000), '2 min');
  });
});

describe('custom checks in plain words', () => {
  it('says what fails each check, and that a gauge is a threshold judgment', () => {
    const lines = describeChecks({
      checks: [
        { name: 'checkout-failures', kind: 'ratio', direction: 'lower-is-better', tolerance: 0.1, minDifference: 0.005, max: 0.05 },
        { name: 'conversion', kind: 'ratio', direction: 'higher-is-better', tolerance: 0.25, minDifference: 0.01, min: null },
        { name: 'feedback-score', kind: 'gauge', direction: 'higher-is-better', tolerance: 0.1, min: 3.5, max: null, evaluations: 3 },
      ],
    });
    assert.deepEqual(lines.slice(-3), [
      'checkout-failures (ratio from Prometheus): fails above 1.1× stable and +0.5 pp; ceiling 5%',
      'conversion (ratio from Prometheus): fails below stable / 1.25 and −1 pp',
      'feedback-score (gauge from Prometheus, threshold): fails when 10% below stable or below 3.5 at 3 looks in a row',
    ]);
  });
});
