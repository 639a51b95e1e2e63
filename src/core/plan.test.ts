import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileAnalysis, compilePlan, parsePlanShorthand } from './plan.js';
import { parseDuration, formatDuration } from './duration.js';
import { percentToBps } from './weight.js';
import { TernError } from './errors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TernError, `expected a TernError, got ${String(err)}`);
    return `${err.code} ${(err.details?.field as string | undefined) ?? ''}`.trim();
  }
  assert.fail('expected an error');
}

describe('durations', () => {
  it('parses units, compounds and bare seconds', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(45), 45_000);
    assert.equal(parseDuration(' 2M '), 120_000);
  });
  it('rejects nonsense, negatives and over-long holds naming the field', () => {
    assert.equal(
      codeOf(() => parseDuration('30 parsecs', 'steps[1].hold')),
      'TERN_INVALID_DURATION steps[1].hold',
    );
    assert.equal(
      codeOf(() => parseDuration('')),
      'TERN_INVALID_DURATION duration',
    );
    assert.equal(
      codeOf(() => parseDuration('-5s')),
      'TERN_INVALID_DURATION duration',
    );
    assert.equal(
      codeOf(() => parseDuration(-1)),
      'TERN_INVALID_DURATION duration',
    );
    assert.equal(
      codeOf(() => parseDuration('8d')),
      'TERN_INVALID_DURATION duration',
    );
    assert.equal(
      codeOf(() => parseDuration(Number.NaN)),
      'TERN_INVALID_DURATION duration',
    );
  });
  it('formats the way users write them', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(3_600_000), '1h');
  });
});

describe('weights', () => {
  it('converts percent to basis points', () => {
    assert.equal(percentToBps(5), 500);
    assert.equal(percentToBps(0.01), 1);
    assert.equal(percentToBps(33.33), 3333);
    assert.equal(percentToBps(100), 10_000);
  });
  it('rejects out-of-range, too-fine and non-numbers', () => {
    for (const bad of [-1, 101, 5.001, Number.NaN, '25', null]) {
      assert.equal(
        codeOf(() => percentToBps(bad)),
        'TERN_INVALID_WEIGHT weight',
        String(bad),
      );
    }
  });
});

describe('plans', () => {
  it('compiles the shorthand with default holds and a final 100% without hold', () => {
    assert.deepEqual(compilePlan('5,25:30s,100'), [
      { weight: 500, holdMs: 60_000, analysis: true },
      { weight: 2500, holdMs: 30_000, analysis: true },
      { weight: 10_000, holdMs: 0, analysis: false },
    ]);
  });
  it('compiles arrays and keeps explicit settings', () => {
    assert.deepEqual(
      compilePlan([
        { weight: 10, hold: '2m', analysis: false },
        { weight: 50, hold: 10 },
      ]),
      [
        { weight: 1000, holdMs: 120_000, analysis: false },
        { weight: 5000, holdMs: 10_000, analysis: true },
      ],
    );
  });
  it('fills the default plan when none is given', () => {
    assert.deepEqual(
      compilePlan(undefined).map((s) => s.weight),
      [500, 2500, 5000, 10_000],
    );
  });
  it('names the bad element of a bad plan', () => {
    assert.equal(
      codeOf(() => compilePlan('5,,100')),
      'TERN_INVALID_PLAN steps',
    );
    assert.equal(
      codeOf(() => compilePlan('5,abc')),
      'TERN_INVALID_PLAN steps[1]',
    );
    assert.equal(
      codeOf(() => compilePlan('5:1m:2,100')),
      'TERN_INVALID_PLAN steps[0]',
    );
    assert.equal(
      codeOf(() => compilePlan('25,5')),
      'TERN_INVALID_PLAN steps[1].weight',
    );
    assert.equal(
      codeOf(() => compilePlan('0,50')),
      'TERN_INVALID_PLAN steps[0].weight',
    );
    assert.equal(
      codeOf(() => compilePlan('5,150')),
      'TERN_INVALID_WEIGHT steps[1].weight',
    );
    assert.equal(
      codeOf(() => compilePlan('5:soon,100')),
      'TERN_INVALID_DURATION steps[0].hold',
    );
    assert.equal(
      codeOf(() => compilePlan([])),
      'TERN_INVALID_PLAN steps',
    );
    assert.equal(
      codeOf(() => compilePlan(Array.from({ length: 21 }, (_, i) => ({ weight: i + 1 })))),
      'TERN_INVALID_PLAN steps',
    );
  });
  it('parses the shorthand into step inputs', () => {
    assert.deepEqual(parsePlanShorthand(' 5:30s , 100 '), [{ weight: 5, hold: '30s' }, { weight: 100 }]);
  });
});

describe('analysis settings', () => {
  it('fills defaults', () => {
    assert.deepEqual(compileAnalysis(undefined), {
      judge: 'sequential',
      onFailure: 'rollback',
      intervalMs: 1000,
      failureThreshold: 5,
      errorRate: { tolerance: 0.1, minDifference: 0.0005, max: 0.05 },
      latency: { tolerance: 0.2, minDifferenceMs: 5, p99MaxMs: null },
      feedback: null,
      warmupMs: 10_000,
      minRequests: 100,
      checks: [],
    });
  });
  it('keeps given values and rejects out-of-range ones', () => {
    const a = compileAnalysis({
      judge: 'threshold',
      onFailure: 'pause',
      interval: '1m',
      errorRate: { max: null },
      latency: { p99MaxMs: 500 },
      feedback: {},
    });
    assert.equal(a.intervalMs, 60_000);
    assert.equal(a.errorRate.max, null);
    assert.equal(a.latency.p99MaxMs, 500);
    assert.deepEqual(a.feedback, { tolerance: 0.5, minScore: null });
    assert.deepEqual(compileAnalysis({ feedback: { minScore: 3.5, tolerance: 1 } }).feedback, { tolerance: 1, minScore: 3.5 });
    assert.equal(compileAnalysis({ warmup: '30s' }).warmupMs, 30_000);
    assert.equal(
      codeOf(() => compileAnalysis({ warmup: 'soon' })),
      'TERN_INVALID_DURATION analysis.warmup',
    );
    assert.equal(
      codeOf(() => compileAnalysis({ latency: { minDifferenceMs: -1 } })),
      'TERN_INVALID_REQUEST analysis.latency.minDifferenceMs',
    );
    assert.equal(
      codeOf(() => compileAnalysis({ errorRate: { max: 2 } })),
      'TERN_INVALID_REQUEST analysis.errorRate.max',
    );
    assert.equal(
      codeOf(() => compileAnalysis({ feedback: { minScore: 9 } })),
      'TERN_INVALID_REQUEST analysis.feedback.minScore',
    );
    assert.equal(
      codeOf(() => compileAnalysis({ threshold: 0 })),
      'TERN_INVALID_REQUEST analysis.threshold',
    );
    assert.equal(compileAnalysis({ judge: 'threshold' }).intervalMs, 60_000);
  });
});
