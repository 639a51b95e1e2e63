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
