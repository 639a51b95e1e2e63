/**
 * Detection benchmark (issue 4): how fast each judge rolls back a bad canary, and how often it
 * rolls back a good one. Simulated traffic at 1,000 rps with the canary at 5% weight, stable
 * error rate 1%, log-normal latency (median 20 ms, σ 0.5). Each release runs the real judge and
 * the controller's real decision rule every second, exactly as `tern server` does.
 *
 * Prints one line per figure: `judge scenario metric value`, then the sequential/threshold ratio.
 * Usage: node --import tsx bench/detection/detection.ts [--runs N] [--aa N] [--seconds S]
 */
import { parseArgs } from 'node:util';
import { EvidenceAccumulator } from '../../src/analysis/accumulator.js';
import { judge } from '../../src/analysis/judge.js';
import { seededRandom, simulateSecond, type ArmSpec } from '../../src/analysis/simulate.js';
import { decide } from '../../src/control/decide.js';
import { compileAnalysis, compilePlan, type AnalysisInput } from '../../src/core/plan.js';
import type { Release } from '../../src/core/types.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, aa: { type: 'string', default: '500' }, seconds: { type: 'string', default: '600' } } });
const RUNS = Number(values.runs);
const AA_RUNS = Number(values.aa);
const HORIZON = Number(values.seconds);

const STABLE: ArmSpec = { errorRate: 0.01, medianMs: 20, sigma: 0.5 };
const SCENARIOS: Record<string, ArmSpec> = {
  'errors-3x': { ...STABLE, errorRate: 0.03 },
  'errors-5x': { ...STABLE, errorRate: 0.05 },
  'latency+50%': { ...STABLE, medianMs: 30 },
};
const JUDGES: Record<string, AnalysisInput> = {
  sequential: {},
  // Flagger's documented defaults: 1-minute interval, threshold 5, success rate ≥ 99%, p99 ≤ 500 ms.
  threshold: { judge: 'threshold', interval: '1m', threshold: 5, errorRate: { max: 0.01 }, latency: { p99MaxMs: 500 } },
  'mann-whitney': { judge: 'mann-whitney', interval: '1m' },
};

function release(analysis: AnalysisInput): Release {
  // One 5% step held for the whole horizon: every judge gets the same chance to decide.
  return {
    id: 'bench', service: 's', version: 'v2', endpoints: [], baseline: { version: 'v1', endpoints: [] }, status: 'progressing',
    stepIndex: 0, weight: 500, salt: 's', steps: compilePlan([{ weight: 5, hold: HORIZON }, { weight: 100 }]), analysis: compileAnalysis(analysis),
    metadata: {}, createdBy: 'bench', startedAt: 0, stepStartedAt: 0, updatedAt: 0, endedAt: null, reason: null,
  };
}

/** Seconds from start to a rollback decision, or null when none within the horizon. */
function secondsToRollback(r: Release, canary: ArmSpec, seed: number): number | null {
  const rand = seededRandom(seed);
  // The controller's incremental aggregates (src/control/runner.ts), fed one window a second.
  const acc = new EvidenceAccumulator(r.analysis.intervalMs, 0);
  for (let t = 0; t < HORIZON; t++) {
    const s = simulateSecond(rand, 1000, 0.05, STABLE, canary);
    acc.add({ start: t * 1000, stable: { ...s.stable, feedbackSum: 0, feedbackCount: 0 }, canary: { ...s.canary, feedbackSum: 0, feedbackCount: 0 } });
    const now = (t + 1) * 1000;
    const result = judge(r.analysis, acc.snapshot(), { stepStartedAt: 0, now, holdMs: HORIZON * 1000 });
    const d = decide(r, { outcome: result.outcome, judge: result.judge, sufficient: result.sufficient, summary: '' }, now);
    if (d.kind === 'fail') return t + 1;
    if (d.kind !== 'hold') return null;
  }
  return null;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const fmt = (s: number) => (Number.isFinite(s) ? `${s}s` : `>${HORIZON}s`);
const medians: Record<string, Record<string, number>> = {};
for (const [name, input] of Object.entries(JUDGES)) {
  const r = release(input);
  medians[name] = {};
  for (const [scenario, canary] of Object.entries(SCENARIOS)) {
    const times = Array.from({ length: RUNS }, (_, i) => secondsToRollback(r, canary, 1000 + i) ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    medians[name][scenario] = quantile(times, 0.5);
    console.log(`${name} ${scenario} median ${fmt(quantile(times, 0.5))} p90 ${fmt(quantile(times, 0.9))} detected ${times.filter(Number.isFinite).length}/${RUNS}`);
  }
  let falseRollbacks = 0;
  for (let i = 0; i < AA_RUNS; i++) if (secondsToRollback(r, STABLE, 50_000 + i) !== null) falseRollbacks++;
  console.log(`${name} A/A false-rollbacks ${falseRollbacks}/${AA_RUNS} (${((100 * falseRollbacks) / AA_RUNS).toFixed(2)}%)`);
}
for (const scenario of Object.keys(SCENARIOS)) {
  const ratio = medians.threshold![scenario]! / medians.sequential![scenario]!;
  console.log(`speedup sequential-vs-threshold ${scenario} ${Number.isFinite(ratio) ? ratio.toFixed(1) : 'inf'}x`);
}
