import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysisInputOf, overrideAnalysis } from './analysis-override.js';
import { ValidationError } from './errors.js';
import { compileAnalysis } from './plan.js';

describe('what-if analysis settings', () => {
  const own = compileAnalysis({
    judge: 'threshold',
    interval: '30s',
    errorRate: { tolerance: 1, max: null },
    latency: { tolerance: 0.1, p99MaxMs: 400 },
    feedback: { minScore: 3 },
    warmup: '5s',
    minRequests: 500,
  });

  it('round-trips a release’s own settings', () => {
    assert.deepEqual(compileAnalysis(analysisInputOf(own)), own);
    assert.equal(overrideAnalysis(own, undefined), own);
  });

  it('changes only the fields given, nested ones too', () => {
    const next = overrideAnalysis(own, { latency: { minDifferenceMs: 0 }, errorRate: { minDifference: 0.01 } });
    assert.deepEqual(next, {
      ...own,
      latency: { ...own.latency, minDifferenceMs: 0 },
      errorRate: { ...own.errorRate, minDifference: 0.01 },
    });
    assert.equal(overrideAnalysis(own, { feedback: null }).feedback, null);
    assert.deepEqual(overrideAnalysis(own, { feedback: { tolerance: 1 } }).feedback, { tolerance: 1, minScore: 3 });
  });

  it('gives a new judge its own default interval unless one is asked for', () => {
    assert.equal(overrideAnalysis(own, { judge: 'sequential' }).intervalMs, 1000);
    assert.equal(overrideAnalysis(own, { judge: 'sequential', interval: '5s' }).intervalMs, 5000);
    assert.equal(overrideAnalysis(own, { warmup: 0 }).intervalMs, 30_000);
  });

  it('checks what it is given as a release start would, naming the field', () => {
    assert.throws(
      () => overrideAnalysis(own, { latency: { tolerance: -1 } }, 'body.analysis'),
      (err: unknown) => err instanceof ValidationError && /body\.analysis\.latency\.tolerance/.test(err.message),
    );
  });
});
