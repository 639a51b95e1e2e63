/**
 * The rules that keep verdicts trustworthy on real services (docs/analysis.md): practical tolerances
 * with an absolute part, the canary's latency warm-up, one heavy sticky user, and the one-sided
 * count test against the composite null — each pinned with seeded simulations, both ways
 * (a healthy canary is left alone, a real regression is still caught).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAnalysis, type AnalysisInput } from '../core/plan.js';
import { EvidenceAccumulator } from './accumulator.js';
import { addCountWindow, emptyCountState, PSI_GRID, ratioBounds, type CountState } from './count-eprocess.js';
import type { EvidenceWindow } from './evidence.js';
import { judge } from './judge.js';
import { binomial, poisson, seededRandom, simulateSecond, type ArmSpec, type HeavyUser } from './simulate.js';
import type { JudgeResult } from './verdict.js';

const STABLE: ArmSpec = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };
const FAST: ArmSpec = { errorRate: 0, medianMs: 0.4, sigma: 0.3 };

interface Run {
  readonly stable?: ArmSpec;
  readonly canary: (t: number) => ArmSpec;
  readonly seconds: number;
  readonly seed: number;
  readonly input?: AnalysisInput;
  readonly rps?: number;
  readonly share?: number;
  readonly heavy?: HeavyUser;
  readonly latency?: boolean;
}

/** Judges a simulated step every second; returns the first failing second and the last result. */
function run(o: Run): { failedAt: number | null; result: JudgeResult } {
  const config = compileAnalysis(o.input ?? {});
  const rand = seededRandom(o.seed);
  const acc = new EvidenceAccumulator({ intervalMs: config.intervalMs, origin: 0, warmupMs: config.warmupMs });
  let result: JudgeResult | null = null;
  for (let t = 0; t < o.seconds; t++) {
    const s = simulateSecond(rand, o.rps ?? 1000, o.share ?? 0.05, o.stable ?? STABLE, o.canary(t), o.latency ?? true, o.heavy);
    const w: EvidenceWindow = {
      start: t * 1000,
      stable: { ...s.stable, feedbackSum: 0, feedbackCount: 0 },
      canary: { ...s.canary, feedbackSum: 0, feedbackCount: 0 },
    };
    acc.add(w);
    result = judge(config, acc.snapshot(), { stepStartedAt: 0, now: (t + 1) * 1000, holdMs: o.seconds * 1000 });
    if (result.outcome === 'fail') return { failedAt: t + 1, result };
  }
  return { failedAt: null, result: result! };
}

function failures(n: number, make: (seed: number) => Run): number {
  let failed = 0;
  for (let seed = 1; seed <= n; seed++) if (run(make(seed)).failedAt !== null) failed++;
  return failed;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

describe('practical tolerances', () => {
  it('leaves a 0.4 ms service alone when its canary answers 0.2 ms slower (50%, but far below 5 ms)', (t) => {
    const n = failures(40, (seed) => ({ seed, seconds: 90, stable: FAST, canary: () => ({ ...FAST, offsetMs: 0.2 }) }));
    t.diagnostic(`${n} of 40 A/A-offset steps failed`);
    assert.equal(n, 0);
  });
  it('fails the same 0.2 ms gap when the release asks for sub-millisecond precision', () => {
    const { failedAt, result } = run({
      seed: 3,
      seconds: 90,
      stable: FAST,
      canary: () => ({ ...FAST, offsetMs: 0.2 }),
      input: { latency: { minDifferenceMs: 0.05 } },
    });
    assert.ok(failedAt !== null && failedAt <= 40, `failed at ${failedAt}`);
    assert.equal(result.checks.find((c) => c.outcome === 'fail')?.check, 'latency');
  });
  it('fails a 5 ms service whose canary is 20 ms slower', () => {
    const five: ArmSpec = { errorRate: 0, medianMs: 5, sigma: 0.3 };
    const { failedAt } = run({ seed: 5, seconds: 60, stable: five, canary: () => ({ ...five, offsetMs: 20 }) });
    assert.ok(failedAt !== null && failedAt <= 25, `failed at ${failedAt}`);
  });
  it('ignores 4× the errors of a nearly perfect service when the difference stays under 0.05 points', (t) => {
    const rare: ArmSpec = { ...STABLE, errorRate: 0.0001 };
    const n = failures(30, (seed) => ({
      seed,
      seconds: 300,
      stable: rare,
      canary: () => ({ ...rare, errorRate: 0.0004 }),
      share: 0.5,
      rps: 2000,
      latency: false,
    }));
    t.diagnostic(`${n} of 30 steps failed`);
    assert.equal(n, 0);
  });
  it('fails a canary with errors when stable has none (the route through both rates)', () => {
    const clean: ArmSpec = { ...STABLE, errorRate: 0 };
    const { failedAt, result } = run({
      seed: 7,
      seconds: 60,
      stable: clean,
      canary: () => ({ ...clean, errorRate: 0.03 }),
      latency: false,
    });
    assert.ok(failedAt !== null && failedAt <= 30, `failed at ${failedAt}`);
    assert.match(result.checks[0]!.detail, /^canary [\d.]+% \(\d+\/\d+\) vs stable 0% \(0\/\d+\)/);
  });
});

describe('warm-up', () => {
  it('does not compare a canary 3× slower for its first 10 s', (t) => {
    const n = failures(40, (seed) => ({ seed, seconds: 60, canary: (s) => (s < 10 ? { ...STABLE, medianMs: 60 } : STABLE) }));
    t.diagnostic(`${n} of 40 warm-up steps failed`);
    assert.equal(n, 0);
  });
  it('says the latency check is warming up and counts no latency samples until then', () => {
    const { result } = run({ seed: 1, seconds: 5, canary: () => STABLE });
    const latency = result.checks.find((c) => c.check === 'latency')!;
    assert.equal(latency.canarySamples, 0);
    assert.match(latency.detail, /^warming up: the canary's first 10 s of traffic are not compared for latency/);
  });
  it('still fails a canary that crashes on start, within the warm-up', () => {
    const { failedAt, result } = run({ seed: 2, seconds: 10, canary: () => ({ ...STABLE, errorRate: 0.5 }) });
    assert.ok(failedAt !== null && failedAt <= 3, `failed at ${failedAt}`);
    assert.equal(result.checks.find((c) => c.outcome === 'fail')?.check, 'error-rate');
  });
  it('catches a persistently slower canary once the warm-up is over', () => {
    const { failedAt } = run({ seed: 4, seconds: 60, canary: () => ({ ...STABLE, medianMs: 30 }) });
    assert.ok(failedAt !== null && failedAt > 10 && failedAt <= 35, `failed at ${failedAt}`);
  });
});

describe('one heavy sticky user', () => {
  const poison: HeavyUser = { share: 0.2, errorRate: 1, side: 'canary' };
  it('cannot fail a healthy release alone (a user with 20% of traffic, 5xx on either version)', (t) => {
    const n = failures(40, (seed) => ({ seed, seconds: 120, canary: () => STABLE, heavy: poison, latency: false }));
    t.diagnostic(`${n} of 40 steps failed`);
    assert.equal(n, 0);
    const { result } = run({ seed: 1, seconds: 30, canary: () => STABLE, heavy: poison, latency: false });
    assert.match(result.checks[0]!.detail, /one user \(heavy0001\) had \d+ of the canary's \d+ errors/);
  });
  it('does not hide a regression that hits many users beside the heavy one', () => {
    const { failedAt } = run({ seed: 9, seconds: 120, canary: () => ({ ...STABLE, errorRate: 0.05 }), heavy: poison, latency: false });
    assert.ok(failedAt !== null && failedAt <= 30, `failed at ${failedAt}`);
  });
  it('still catches 3× errors from many users at full speed (median ≤ 15 s over 30 seeds)', (t) => {
    const times = Array.from(
      { length: 30 },
      (_, i) => run({ seed: 100 + i, seconds: 120, canary: () => ({ ...STABLE, errorRate: 0.03 }), latency: false }).failedAt ?? 999,
    );
    t.diagnostic(`3× errors: median ${median(times)} s over 30 seeds`);
    assert.ok(median(times) <= 15, `median ${median(times)} s`);
  });
});

describe('one-sided count test', () => {
  /** A step whose true ratio sits exactly on the null's edge: canary = ψ0 × stable. */
  function boundaryRun(seed: number, psi0: number, seconds: number): CountState {
    const rand = seededRandom(seed);
    let state = emptyCountState();
    for (let t = 0; t < seconds; t++) {
      const nC = poisson(rand, 50);
      const nS = poisson(rand, 950);
      state = addCountWindow(state, {
        canaryRequests: nC,
        canaryErrors: binomial(rand, nC, 0.02 * psi0),
        stableRequests: nS,
        stableErrors: binomial(rand, nS, 0.02),
      });
      if (ratioBounds(state, 0.01).lower >= psi0) return state;
    }
    return state;
  }
  it('rejects "ψ ≤ ψ0" at ψ = ψ0 in at most α of 500 seeded runs (α = 1%, looked at every second)', (t) => {
    const psi0 = PSI_GRID.find((g) => g >= 1.5)!;
    let rejected = 0;
    for (let seed = 1; seed <= 500; seed++) if (ratioBounds(boundaryRun(seed, psi0, 120), 0.01).lower >= psi0) rejected++;
    t.diagnostic(`${rejected} of 500 boundary runs rejected`);
    assert.ok(rejected <= 5, `${rejected} rejections`);
  });
  it('bounds the ratio from both sides once evidence is plentiful', () => {
    const state = boundaryRun(1, 2, 300);
    const { lower, upper } = ratioBounds(state, 0.01);
    assert.ok(lower < 2 && upper > 2 && upper / lower < 3, `[${lower}, ${upper}]`);
  });
});
