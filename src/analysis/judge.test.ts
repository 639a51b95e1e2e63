import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { judgeWindows as judge } from './judge.js';
import { compileAnalysis, type AnalysisInput } from '../core/plan.js';
import { seededRandom, simulateSecond, type ArmSpec } from './simulate.js';
import { mannWhitneyP } from './judges/mann-whitney.js';
import type { EvidenceWindow } from './evidence.js';

const STABLE: ArmSpec = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };

/** Simulates a step and asks the judge every `every` seconds; returns the first failing second and the last result. */
function simulate(
  input: AnalysisInput,
  canary: ArmSpec,
  options: { seed: number; seconds: number; rps?: number; share?: number; every?: number; holdMs?: number },
) {
  const config = compileAnalysis(input);
  const rand = seededRandom(options.seed);
  const windows: EvidenceWindow[] = [];
  let result = null;
  for (let t = 0; t < options.seconds; t++) {
    const s = simulateSecond(rand, options.rps ?? 1000, options.share ?? 0.05, STABLE, canary);
    windows.push({
      start: t * 1000,
      stable: { ...s.stable, feedbackSum: 0, feedbackCount: 0 },
      canary: { ...s.canary, feedbackSum: 0, feedbackCount: 0 },
    });
    if ((t + 1) % (options.every ?? 1) !== 0) continue;
    result = judge(config, { windows, stepStartedAt: 0, now: (t + 1) * 1000, holdMs: options.holdMs ?? options.seconds * 1000 });
    if (result.outcome === 'fail') return { failedAt: t + 1, result };
  }
  return { failedAt: null, result };
}

describe('sequential judge', () => {
  it('does not fail identical canaries (200 seeded A/A steps of 60 s, judged every 5 s)', (t) => {
    let failures = 0;
    for (let seed = 1; seed <= 200; seed++) if (simulate({}, STABLE, { seed, seconds: 60, every: 5 }).failedAt !== null) failures++;
    t.diagnostic(`${failures} false failures in 200 A/A steps`);
    assert.ok(failures <= 2 + 3 * Math.sqrt(2), `${failures} false failures`);
  });
  it('fails a canary with 5x the errors, naming the error check with its evidence', () => {
    const { failedAt, result } = simulate({}, { ...STABLE, errorRate: 0.05 }, { seed: 11, seconds: 120, share: 0.1 });
    assert.ok(failedAt !== null && failedAt <= 60, `failed at ${failedAt}`);
    const check = result.checks.find((c) => c.outcome === 'fail')!;
    assert.equal(check.check, 'error-rate');
    assert.ok(check.statistic! > 1.5 && check.canarySamples > 0);
    assert.match(check.detail, /the canary's rate is shown above 1.1× stable's rate and \+0.05 pp/);
  });
  it('fails a canary 50% slower on the latency check', () => {
    const { failedAt, result } = simulate({}, { ...STABLE, medianMs: 30 }, { seed: 5, seconds: 120, share: 0.1 });
    assert.ok(failedAt !== null, 'never failed');
    assert.ok(result.checks.some((c) => c.check === 'latency' && c.outcome === 'fail'));
  });
  it('passes a healthy canary once the evidence is in, and says inconclusive before', () => {
    const early = simulate({}, STABLE, { seed: 3, seconds: 2, rps: 200 }).result!;
    assert.equal(early.outcome, 'inconclusive');
    const late = simulate({}, { ...STABLE, errorRate: 0 }, { seed: 3, seconds: 120, share: 0.5, every: 120 }).result!;
    assert.equal(late.outcome, 'pass', JSON.stringify(late.checks.map((c) => [c.check, c.outcome, c.detail])));
  });
  it('enforces the absolute ceilings', () => {
    const { result } = simulate(
      { errorRate: { tolerance: 100, max: 0.02 } },
      { ...STABLE, errorRate: 0.08 },
      { seed: 2, seconds: 60, share: 0.2 },
    );
    assert.ok(result!.checks.some((c) => c.check === 'error-ceiling' && c.outcome === 'fail'));
    const slow = simulate({ latency: { tolerance: 100, p99MaxMs: 50 } }, { ...STABLE, medianMs: 80 }, { seed: 2, seconds: 60, share: 0.2 });
    assert.ok(slow.result!.checks.some((c) => c.check === 'p99-ceiling' && c.outcome === 'fail'));
  });
});

describe('threshold judge', () => {
  it('fails after the configured number of failed intervals, not before', () => {
    const bad = { ...STABLE, errorRate: 0.05 };
    const { failedAt } = simulate({ judge: 'threshold', interval: '10s', threshold: 3, errorRate: { max: 0.02 } }, bad, {
      seed: 1,
      seconds: 60,
      share: 0.2,
    });
    assert.equal(failedAt, 30);
    assert.equal(
      simulate({ judge: 'threshold', interval: '10s', threshold: 3, errorRate: { max: 0.02 } }, STABLE, {
        seed: 1,
        seconds: 60,
        share: 0.2,
      }).failedAt,
      null,
    );
  });
});

describe('mann-whitney judge', () => {
  it('computes textbook p-values', () => {
    assert.ok(mannWhitneyP([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) < 0.02);
    assert.ok(mannWhitneyP([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]) > 0.5);
  });
  it('decides only at the end of the step: fails a 5x error canary, passes an identical one', () => {
    const cfg = { judge: 'mann-whitney' as const, interval: '10s' };
    const before = simulate(cfg, { ...STABLE, errorRate: 0.05 }, { seed: 4, seconds: 100, share: 0.2, holdMs: 200_000, every: 100 });
    assert.equal(before.result!.outcome, 'inconclusive');
    assert.equal(simulate(cfg, { ...STABLE, errorRate: 0.05 }, { seed: 4, seconds: 100, share: 0.2, every: 100 }).result!.outcome, 'fail');
    assert.equal(simulate(cfg, STABLE, { seed: 4, seconds: 100, share: 0.2, every: 100 }).result!.outcome, 'pass');
  });
});
