import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type JudgeSummary } from './decide.js';
import { compileAnalysis, compilePlan } from '../core/plan.js';
import type { Release } from '../core/types.js';
import { releaseFixture } from '../../test/support/release-fixture.js';

function release(overrides: Partial<Release> = {}): Release {
  return releaseFixture({ steps: compilePlan('5:1m,50:2m,100'), ...overrides });
}
const pass: JudgeSummary = { outcome: 'pass', judge: 'sequential', sufficient: true, summary: 'all checks pass' };
const fail: JudgeSummary = { outcome: 'fail', judge: 'sequential', sufficient: true, summary: 'error-rate: ratio 4.1' };
const unsure: JudgeSummary = { outcome: 'inconclusive', judge: 'sequential', sufficient: false, summary: 'error-rate: 12 requests' };
const clean: JudgeSummary = { outcome: 'inconclusive', judge: 'sequential', sufficient: true, summary: 'error-rate: ratio 1.1 [0.4, 3]' };

describe('decide', () => {
  it('fails at once on a failed verdict, with the configured action and the evidence in the reason', () => {
    const d = decide(release(), fail, 2_000);
    assert.equal(d.kind, 'fail');
    assert.ok(d.kind === 'fail' && d.action === 'rollback' && /error-rate: ratio 4.1/.test(d.reason) && /step 1\/3 \(5%\)/.test(d.reason));
    const paused = decide(release({ analysis: compileAnalysis({ onFailure: 'pause' }) }), fail, 2_000);
    assert.ok(paused.kind === 'fail' && paused.action === 'pause');
  });
  it('holds a passing step until a quarter of its hold, then advances early (sequential judge only)', () => {
    assert.equal(decide(release(), pass, 14_000).kind, 'hold');
    assert.deepEqual(decide(release(), pass, 15_000), { kind: 'advance', toStep: 1, reason: 'step 1/3 (5%) passed analysis early' });
    const threshold = release({ analysis: compileAnalysis({ judge: 'threshold' }) });
    assert.equal(decide(threshold, { ...pass, judge: 'threshold' }, 30_000).kind, 'hold');
    assert.equal(decide(threshold, { ...pass, judge: 'threshold' }, 60_000).kind, 'advance');
  });
  it('extends an inconclusive step, then pauses saying why', () => {
    assert.equal(decide(release(), unsure, 60_000).kind, 'hold');
    assert.equal(decide(release(), unsure, 60_000 + 599_000).kind, 'hold');
    const d = decide(release(), unsure, 60_000 + 600_000);
    assert.ok(d.kind === 'pause' && /too little traffic/.test(d.reason) && /12 requests/.test(d.reason));
  });
  it('advances at the end of the hold on sufficient evidence with no sign of regression, not before', () => {
    assert.equal(decide(release(), clean, 59_000).kind, 'hold');
    assert.deepEqual(decide(release(), clean, 60_000), {
      kind: 'advance',
      toStep: 1,
      reason: 'step 1/3 (5%) held with enough traffic and no sign of regression',
    });
  });
  it('promotes after the last step and ignores steps without analysis', () => {
    const last = release({ stepIndex: 2, weight: 10_000, stepStartedAt: 0 });
    assert.equal(decide(last, pass, 0).kind, 'promote');
    const noAnalysis = release({ steps: compilePlan([{ weight: 10, hold: '10s', analysis: false }, { weight: 100 }]) });
    assert.equal(decide(noAnalysis, fail, 5_000).kind, 'hold');
    assert.equal(decide(noAnalysis, null, 10_000).kind, 'advance');
  });
  it('never moves a release that is not progressing', () => {
    for (const status of ['pending', 'paused', 'promoting', 'rolling_back', 'promoted'] as const) {
      assert.equal(decide(release({ status }), fail, 1e9).kind, 'hold');
    }
  });
});
