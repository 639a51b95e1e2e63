/**
 * The `sequential` judge (default): anytime-valid tests evaluated every window, so looking
 * every second does not inflate false alarms. The overall α is split evenly (Bonferroni)
 * across the checks in force, so a step's false-failure rate stays ≤ α.
 */
import type { AnalysisConfig } from '../../core/types.js';
import { quantile } from '../../core/latency-histogram.js';
import type { Aggregates } from '../accumulator.js';
import { countVerdict, logEValueAgainstEquality } from '../count-eprocess.js';
import type { Timing } from '../evidence.js';
import { bandWidth, compareLatency } from '../latency-bands.js';
import { rateInterval } from '../rate-bounds.js';
import { combine, enough, round, type CheckVerdict, type JudgeResult } from '../verdict.js';

/** False-failure budget of one analysed step. */
export const DEFAULT_ALPHA = 0.01;
/** A canary whose error rate is shown below this is fine whatever stable does. */
export const NEGLIGIBLE_ERROR_RATE = 0.001;

type Arms = Pick<Aggregates, 'stable' | 'canary'>;

function errorRateCheck(state: Aggregates['count'], a: Arms, tol: number, alpha: number, min: number): CheckVerdict {
  const logE = logEValueAgainstEquality(state);
  const v = countVerdict(state, alpha);
  const negligible = rateInterval(a.canary.errors, a.canary.requests, alpha).upper < NEGLIGIBLE_ERROR_RATE;
  const limit = 1 + tol;
  const outcome = logE >= Math.log(1 / alpha) && v.lower > 1 && (v.estimate ?? 0) > limit ? 'fail' : v.upper < limit || negligible ? 'pass' : 'inconclusive';
  return {
    check: 'error-rate',
    outcome,
    sufficient: enough(a.stable.requests, a.canary.requests, min),
    statistic: v.estimate === null ? null : round(v.estimate),
    bound: round(limit),
    stableSamples: a.stable.requests,
    canarySamples: a.canary.requests,
    detail:
      `canary/stable error-rate ratio ${v.estimate === null ? 'unknown (no errors yet)' : round(v.estimate, 3)}, ` +
      `${round((1 - alpha) * 100, 3)}% anytime interval [${round(v.lower, 3)}, ${round(v.upper, 3)}], e-value ${round(Math.exp(Math.min(logE, 700)), 3)} ` +
      `(fails when ≥ ${round(1 / alpha, 3)} with the ratio above ${round(limit, 3)}); errors ${a.canary.errors}/${a.canary.requests} canary, ${a.stable.errors}/${a.stable.requests} stable`,
  };
}

function ceilingCheck(a: Arms, max: number, alpha: number, min: number): CheckVerdict {
  const { lower, upper } = rateInterval(a.canary.errors, a.canary.requests, alpha);
  return {
    check: 'error-ceiling',
    sufficient: a.canary.requests >= min,
    outcome: lower > max ? 'fail' : upper <= max ? 'pass' : 'inconclusive',
    statistic: a.canary.requests ? round(a.canary.errors / a.canary.requests) : null,
    bound: max,
    stableSamples: a.stable.requests,
    canarySamples: a.canary.requests,
    detail: `canary error rate ${a.canary.requests ? round((100 * a.canary.errors) / a.canary.requests, 3) : '–'}%, anytime interval [${round(lower * 100, 3)}%, ${round(upper * 100, 3)}%] against the ${round(max * 100, 3)}% ceiling`,
  };
}

function latencyCheck(a: Arms, tol: number, alpha: number, min: number): CheckVerdict {
  const v = compareLatency(a.stable.latency, a.canary.latency, tol, alpha);
  return {
    check: 'latency',
    sufficient: enough(v.stableCount, v.canaryCount, min),
    outcome: v.worse ? 'fail' : v.noWorse ? 'pass' : 'inconclusive',
    statistic: round(v.statistic),
    bound: round(v.bound),
    stableSamples: v.stableCount,
    canarySamples: v.canaryCount,
    detail: `largest gap between stable's latency CDF and canary's CDF at (1+${tol})·x is ${round(v.statistic, 3)} against the band ${round(v.bound, 3)}; p50 ${fmtMs(quantile(a.canary.latency, 0.5))} canary vs ${fmtMs(quantile(a.stable.latency, 0.5))} stable, p99 ${fmtMs(quantile(a.canary.latency, 0.99))} vs ${fmtMs(quantile(a.stable.latency, 0.99))}`,
  };
}

function p99CeilingCheck(a: Arms, maxMs: number, alpha: number, min: number): CheckVerdict {
  const n = a.canary.requests;
  const u = bandWidth(n, alpha);
  const low = n > 0 && 0.99 - u > 0 ? quantile(a.canary.latency, 0.99 - u) : null;
  const high = n > 0 && 0.99 + u <= 1 ? quantile(a.canary.latency, 0.99 + u) : null;
  const p99 = quantile(a.canary.latency, 0.99);
  return {
    check: 'p99-ceiling',
    sufficient: n >= min,
    outcome: low !== null && low > maxMs ? 'fail' : high !== null && high <= maxMs ? 'pass' : 'inconclusive',
    statistic: p99 === null ? null : round(p99),
    bound: maxMs,
    stableSamples: a.stable.requests,
    canarySamples: n,
    detail: `canary p99 ${fmtMs(p99)}, anytime bounds [${fmtMs(low)}, ${fmtMs(high)}] against the ${maxMs} ms ceiling`,
  };
}

function feedbackCheck(a: Arms, minScore: number, alpha: number, min: number): CheckVerdict {
  const n = a.canary.feedbackCount;
  const mean = n ? a.canary.feedbackSum / n : null;
  // Scores live in [1, 5]: a CDF band of width u bounds the mean within 4·u.
  const margin = 4 * bandWidth(n, alpha);
  return {
    check: 'feedback',
    // Ratings are sparse: a tenth of the request minimum (at least 10) is enough of them.
    sufficient: n >= Math.max(10, Math.ceil(min / 10)),
    outcome: mean !== null && mean + margin < minScore ? 'fail' : mean !== null && mean - margin >= minScore ? 'pass' : 'inconclusive',
    statistic: mean === null ? null : round(mean),
    bound: minScore,
    stableSamples: a.stable.feedbackCount,
    canarySamples: n,
    detail: `canary feedback ${mean === null ? 'none yet' : `${round(mean, 3)} ± ${round(margin, 3)}`} against the minimum ${minScore}`,
  };
}

function fmtMs(ms: number | null): string {
  return ms === null ? '–' : `${round(ms, 3)} ms`;
}

/** Judges one step's evidence with anytime-valid tests. */
export function sequentialJudge(config: AnalysisConfig, a: Aggregates, timing: Timing, alpha = DEFAULT_ALPHA): JudgeResult {
  const active = 2 + (config.errorRate.max !== null ? 1 : 0) + (config.latency.p99MaxMs !== null ? 1 : 0) + (config.feedback ? 1 : 0);
  const each = alpha / active;
  const min = config.minRequests;
  const checks: CheckVerdict[] = [errorRateCheck(a.count, a, config.errorRate.tolerance, each, min), latencyCheck(a, config.latency.tolerance, each, min)];
  if (config.errorRate.max !== null) checks.push(ceilingCheck(a, config.errorRate.max, each, min));
  if (config.latency.p99MaxMs !== null) checks.push(p99CeilingCheck(a, config.latency.p99MaxMs, each, min));
  if (config.feedback) checks.push(feedbackCheck(a, config.feedback.minScore ?? 1, each, min));
  return {
    judge: 'sequential',
    outcome: combine(checks),
    sufficient: checks.every((c) => c.sufficient),
    checks,
    at: timing.now,
    windowFrom: a.windowFrom,
    windowTo: a.windowTo,
  };
}
