/**
 * Detection benchmark: how fast each judge rolls back a bad canary, and how often it rolls back
 * a good one — in simulation (the judges and the controller's decision rule are the real code;
 * the traffic is drawn here, so these figures must be checked against real processes too:
 * bench/real does that).
 *
 * Traffic: 1,000 rps with the canary at 5% weight, stable error rate 1%, log-normal latency
 * (median 20 ms, σ 0.5), judged every second exactly as `tern server` does.
 * Bad canaries: 2×, 3×, 5× errors, +50% latency. Healthy canaries (A/A) in five realistic
 * shapes, each over `--aa` releases of `--aa-seconds`:
 *   identical — both versions drawn from one distribution (the easy case);
 *   offset    — a 0.4 ms service whose canary answers 0.2 ms slower (a different process);
 *   warmup    — a canary 3× slower for its first 10 s;
 *   heavy     — one user sending 20% of all requests, all 5xx on either version, sticky to the canary;
 *   diurnal   — rate and error rate swinging ±80% over two minutes, the same for both versions.
 *
 * Prints one line per figure: `judge scenario metric value`.
 * Usage: node --import tsx bench/detection/detection.ts [--runs N] [--aa N] [--seconds S] [--aa-seconds S] [--judges a,b]
 *        [--scenarios errors-3x,warmup,…] [--analysis '{"warmup":"5s"}' (the sequential judge's settings)]
 */
import { parseArgs } from 'node:util';
import { EvidenceAccumulator } from '../../src/analysis/accumulator.js';
import type { EvidenceWindow } from '../../src/analysis/evidence.js';
import { judge } from '../../src/analysis/judge.js';
import { seededRandom, simulateSecond, type ArmSpec, type HeavyUser } from '../../src/analysis/simulate.js';
import { decide } from '../../src/control/decide.js';
import { compileAnalysis, compilePlan, type AnalysisInput } from '../../src/core/plan.js';
import type { Release } from '../../src/core/types.js';
import { releaseFixture } from '../../test/support/release-fixture.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    aa: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '300' },
    'aa-seconds': { type: 'string', default: '120' },
    judges: { type: 'string', default: 'sequential,threshold,mann-whitney' },
    scenarios: { type: 'string' },
    analysis: { type: 'string', default: '{}' },
  },
});
const RUNS = Number(values.runs);
const AA_RUNS = Number(values.aa);
const HORIZON = Number(values.seconds);
const AA_HORIZON = Number(values['aa-seconds']);

const STABLE: ArmSpec = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };
const FAST: ArmSpec = { errorRate: 0, medianMs: 0.4, sigma: 0.3 };

interface Scenario {
  readonly stable: ArmSpec;
  readonly canary: (t: number) => ArmSpec;
  readonly rps?: (t: number) => number;
  readonly stableAt?: (t: number) => ArmSpec;
  readonly heavy?: HeavyUser;
}

const BAD: Record<string, Scenario> = {
  'errors-2x': { stable: STABLE, canary: () => ({ ...STABLE, errorRate: 0.02 }) },
  'errors-3x': { stable: STABLE, canary: () => ({ ...STABLE, errorRate: 0.03 }) },
  'errors-5x': { stable: STABLE, canary: () => ({ ...STABLE, errorRate: 0.05 }) },
  'latency+50%': { stable: STABLE, canary: () => ({ ...STABLE, medianMs: 30 }) },
};
const swing = (t: number) => 1 + 0.8 * Math.sin((2 * Math.PI * t) / 120);
const HEALTHY: Record<string, Scenario> = {
  identical: { stable: STABLE, canary: () => STABLE },
  offset: { stable: FAST, canary: () => ({ ...FAST, offsetMs: 0.2 }) },
  warmup: { stable: STABLE, canary: (t) => (t < 10 ? { ...STABLE, medianMs: 60 } : STABLE) },
  heavy: { stable: STABLE, canary: () => STABLE, heavy: { share: 0.2, errorRate: 1, side: 'canary' } },
  diurnal: {
    stable: STABLE,
    stableAt: (t) => ({ ...STABLE, errorRate: 0.01 * swing(t) }),
    canary: (t) => ({ ...STABLE, errorRate: 0.01 * swing(t) }),
    rps: (t) => 1000 * swing(t),
  },
};
const JUDGES: Record<string, AnalysisInput> = {
  sequential: JSON.parse(values.analysis) as AnalysisInput,
  // Flagger's documented defaults: 1-minute interval, threshold 5, success rate ≥ 99%, p99 ≤ 500 ms.
  threshold: { judge: 'threshold', interval: '1m', threshold: 5, errorRate: { max: 0.01 }, latency: { p99MaxMs: 500 } },
  'mann-whitney': { judge: 'mann-whitney', interval: '1m' },
};

function release(analysis: AnalysisInput, horizon: number): Release {
  // One 5% step held for the whole horizon: every judge gets the same chance to decide.
  return releaseFixture({
    id: 'bench',
    service: 's',
    steps: compilePlan([{ weight: 5, hold: horizon * 1000 }, { weight: 100 }]),
    analysis: compileAnalysis(analysis),
    createdBy: 'bench',
  });
}

/** A release's traffic, one window a second. */
function traffic(s: Scenario, seed: number, seconds: number): EvidenceWindow[] {
  const rand = seededRandom(seed);
  return Array.from({ length: seconds }, (_, t) => {
    const w = simulateSecond(rand, s.rps?.(t) ?? 1000, 0.05, s.stableAt?.(t) ?? s.stable, s.canary(t), true, s.heavy);
    return {
      start: t * 1000,
      stable: { ...w.stable, feedbackSum: 0, feedbackCount: 0 },
      canary: { ...w.canary, feedbackSum: 0, feedbackCount: 0 },
    };
  });
}

/** Seconds from start to a rollback decision, or null when none within the windows. */
function secondsToRollback(r: Release, windows: readonly EvidenceWindow[]): number | null {
  // The controller's incremental aggregates (src/control/judging.ts), fed one window a second.
  const acc = new EvidenceAccumulator({ intervalMs: r.analysis.intervalMs, origin: 0, warmupMs: r.analysis.warmupMs });
  const holdMs = windows.length * 1000;
  for (const [t, w] of windows.entries()) {
    acc.add(w);
    const now = (t + 1) * 1000;
    const result = judge(r.analysis, acc.snapshot(), { stepStartedAt: 0, now, holdMs });
    const d = decide(r, { outcome: result.outcome, judge: result.judge, sufficient: result.sufficient, summary: '' }, now);
    if (d.kind === 'fail') return t + 1;
    if (d.kind !== 'hold') return null;
  }
  return null;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const judges = values.judges.split(',');
const fmt = (s: number) => (Number.isFinite(s) ? `${s}s` : `>${HORIZON}s`);
const only = values.scenarios?.split(',');
const chosen = (all: Record<string, Scenario>) => Object.entries(all).filter(([name]) => !only || only.includes(name));
for (const [scenario, spec] of chosen(BAD)) {
  const runs = Array.from({ length: RUNS }, (_, i) => traffic(spec, 1000 + i, HORIZON));
  for (const name of judges) {
    const r = release(JUDGES[name]!, HORIZON);
    const times = runs.map((w) => secondsToRollback(r, w) ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    console.log(
      `${name} ${scenario} median ${fmt(quantile(times, 0.5))} p90 ${fmt(quantile(times, 0.9))} detected ${times.filter(Number.isFinite).length}/${RUNS}`,
    );
  }
}
for (const [scenario, spec] of chosen(HEALTHY)) {
  const falseRollbacks = Object.fromEntries(judges.map((j) => [j, 0]));
  for (let i = 0; i < AA_RUNS; i++) {
    const w = traffic(spec, 50_000 + i, AA_HORIZON);
    for (const name of judges) if (secondsToRollback(release(JUDGES[name]!, AA_HORIZON), w) !== null) falseRollbacks[name]!++;
  }
  for (const name of judges) {
    const n = falseRollbacks[name]!;
    console.log(`${name} A/A-${scenario} false-rollbacks ${n}/${AA_RUNS} (${((100 * n) / AA_RUNS).toFixed(2)}%)`);
  }
}
