/**
 * The `sequential` judge (default): anytime-valid tests evaluated every window, so looking
 * every second does not inflate false alarms. The overall α is split evenly (Bonferroni)
 * across the checks in force, so a step's false-failure rate stays ≤ α.
 *
 * Every comparison fails only when the difference is both statistically shown and larger than
 * the release's practical tolerance (a relative and an absolute part, docs/analysis.md); the error
 * checks also refuse to fail on one heavy sticky user alone (accumulator.ts).
 */
import type { AnalysisConfig } from '../../core/types.js';
import { quantile, totalCount } from '../../core/latency-histogram.js';
import type { Aggregates } from '../accumulator.js';
import { ratioBounds, ratioEstimate, type CountState } from '../count-eprocess.js';
import type { Timing } from '../evidence.js';
import { bandWidth, compareLatency, lowerEdge } from '../latency-bands.js';
import { rateInterval } from '../rate-bounds.js';
import { combineChecks, enough, missing, pct, round, type CheckVerdict, type JudgeResult, type Outcome } from '../verdict.js';

/** False-failure budget of one analysed step. */
export const DEFAULT_ALPHA = 0.01;

interface Counts {
  readonly requests: number;
  readonly errors: number;
}

export interface RateEvidence {
  readonly count: CountState;
  readonly stable: Counts;
  readonly canary: Counts;
}

interface RateJudgement {
  readonly outcome: Outcome;
  /** Anytime bounds on the canary/stable ratio of error rates. */
  readonly lower: number;
  readonly upper: number;
  /** The ratio the canary had to be shown above to fail (the relative tolerance, or the absolute one where stable's rate makes it larger). */
  readonly limit: number;
}

/**
 * Error rate against the composite null "canary ≤ max((1+tol)·stable, stable + minDiff)".
 * Two routes, with α split between them (union bound): the one-sided count e-process shows the
 * ratio above max(1+tol, 1 + minDiff/stable's lower rate bound) — valid whatever stable's rate,
 * since that bound holds at every time with its share of α; or the two rates' own anytime
 * intervals are apart by more than the tolerance (the route that works when stable has no errors).
 */
export function judgeRate(e: RateEvidence, tol: number, minDiff: number, alpha: number): RateJudgement {
  const s = rateInterval(e.stable.errors, e.stable.requests, alpha * 0.1);
  const k = rateInterval(e.canary.errors, e.canary.requests, alpha * 0.1);
  const { lower, upper } = ratioBounds(e.count, alpha * 0.8);
  const limit = Math.max(1 + tol, s.lower > 0 ? 1 + minDiff / s.lower : Number.POSITIVE_INFINITY);
  const fails = lower >= limit || k.lower > Math.max((1 + tol) * s.upper, s.upper + minDiff);
  const passes =
    upper <= Math.max(1 + tol, s.upper > 0 ? 1 + minDiff / s.upper : Number.POSITIVE_INFINITY) ||
    k.upper <= Math.max((1 + tol) * s.lower, s.lower + minDiff);
  return { outcome: fails ? 'fail' : passes ? 'pass' : 'inconclusive', lower, upper, limit };
}

function rates(a: { stable: Counts; canary: Counts }): string {
  const one = (c: Counts) => (c.requests ? `${pct(c.errors / c.requests)} (${c.errors}/${c.requests})` : 'no requests');
  return `canary ${one(a.canary)} vs stable ${one(a.stable)}`;
}

/** When one user holds a heavy share of the canary's errors, a failure must hold without them too. */
function heavyUserGuard(a: Aggregates, full: Outcome, without: () => Outcome): { outcome: Outcome; note: string } {
  const h = a.withoutHeavy;
  if (full !== 'fail' || !h) return { outcome: full, note: '' };
  if (without() === 'fail') return { outcome: 'fail', note: '' };
  return {
    outcome: 'inconclusive',
    note: `; one user (${h.user}) had ${h.errors} of the canary's ${a.canary.errors} errors and without them the canary is not shown worse: one sticky user cannot fail a release alone`,
  };
}

function errorRateCheck(a: Aggregates, config: AnalysisConfig['errorRate'], alpha: number, min: number): CheckVerdict {
  const { tolerance: tol, minDifference: minDiff } = config;
  const r = judgeRate(a, tol, minDiff, alpha);
  const h = a.withoutHeavy;
  const guard = heavyUserGuard(
    a,
    r.outcome,
    () => judgeRate({ count: h!.count, stable: a.stable, canary: h!.canary }, tol, minDiff, alpha).outcome,
  );
  const estimate = ratioEstimate(a.count);
  const tolerance = `${round(1 + tol, 3)}× stable's rate and +${round(minDiff * 100, 3)} pp`;
  const finding =
    guard.outcome === 'fail'
      ? `the canary's rate is shown above ${tolerance} (ratio at least ${round(r.lower, 3)}×)`
      : guard.outcome === 'pass'
        ? `the canary is shown within ${tolerance}${Number.isFinite(r.upper) ? ` (ratio at most ${round(r.upper, 3)}×)` : ''}`
        : `not shown above ${tolerance}, nor within it yet`;
  const sufficient = enough(a.stable.requests, a.canary.requests, min);
  return {
    check: 'error-rate',
    outcome: guard.outcome,
    sufficient,
    statistic: estimate === null ? null : round(estimate),
    bound: round(r.limit),
    stableSamples: a.stable.requests,
    canarySamples: a.canary.requests,
    detail: sentence(
      missing(a.stable.requests, a.canary.requests, min, 'requests'),
      a.canary.requests + a.stable.requests > 0 ? rates(a) : '',
      guard.outcome,
      sufficient,
      finding + guard.note,
    ),
  };
}

function ceilingOutcome(c: Counts, max: number, alpha: number): { outcome: Outcome; lower: number; upper: number } {
  const { lower, upper } = rateInterval(c.errors, c.requests, alpha);
  return { outcome: lower > max ? 'fail' : upper <= max ? 'pass' : 'inconclusive', lower, upper };
}

function ceilingCheck(a: Aggregates, max: number, alpha: number, min: number): CheckVerdict {
  const v = ceilingOutcome(a.canary, max, alpha);
  const guard = heavyUserGuard(a, v.outcome, () => ceilingOutcome(a.withoutHeavy!.canary, max, alpha).outcome);
  const rate = a.canary.requests ? pct(a.canary.errors / a.canary.requests) : '–';
  return {
    check: 'error-ceiling',
    sufficient: a.canary.requests >= min,
    outcome: guard.outcome,
    statistic: a.canary.requests ? round(a.canary.errors / a.canary.requests) : null,
    bound: max,
    stableSamples: a.stable.requests,
    canarySamples: a.canary.requests,
    detail: sentence(
      missing(min, a.canary.requests, min, 'requests'),
      a.canary.requests ? `canary error rate ${rate}, anytime interval [${pct(v.lower)}, ${pct(v.upper)}]` : '',
      guard.outcome,
      a.canary.requests >= min,
      `against the ${pct(max)} ceiling${guard.note}`,
    ),
  };
}

/** A source without latency (e.g. HAProxy 2.6's exporter): the check says so and never holds a step up. */
function noLatencyCheck(a: Aggregates): CheckVerdict {
  return {
    check: 'latency',
    sufficient: true,
    outcome: 'inconclusive',
    statistic: null,
    bound: null,
    stableSamples: 0,
    canarySamples: 0,
    detail: `not judged: this metric source has no latency histogram (${a.canary.requests} canary requests counted for errors only)`,
  };
}

function latencyCheck(
  a: Aggregates,
  config: AnalysisConfig['latency'],
  warmupMs: number,
  alpha: number,
  min: number,
  bounds?: readonly number[],
): CheckVerdict {
  if (bounds?.length === 0) return noLatencyCheck(a);
  const { stable, canary, from } = a.compared;
  const v = compareLatency(stable, canary, config.tolerance, alpha, config.minDifferenceMs, bounds);
  const tolerance = `${round(config.tolerance * 100, 3)}% and ${round(config.minDifferenceMs, 3)} ms`;
  const quantiles = `p50 ${fmtMs(quantile(canary, 0.5))} canary vs ${fmtMs(quantile(stable, 0.5))} stable, p99 ${fmtMs(quantile(canary, 0.99))} vs ${fmtMs(quantile(stable, 0.99))}`;
  const finding = v.worse
    ? `the canary is shown slower than stable by more than ${tolerance} at some quantile`
    : v.noWorse
      ? `the canary is shown within ${tolerance} of stable at p50, p90 and p99`
      : `not shown slower by more than ${tolerance}, nor within it yet`;
  // Bucketed evidence: say what the buckets cannot resolve rather than claim the tolerance.
  const resolution = v.coarse
    ? `; buckets ${round(v.coarse.lowMs, 4)}–${round(v.coarse.highMs, 4)} ms are coarser than the tolerance: only a slowdown past a bucket bound can show`
    : bounds
      ? `; compared at the exporter's bucket bounds`
      : '';
  const warming =
    from === null && a.canary.requests > 0
      ? `warming up: the canary's first ${round(warmupMs / 1000, 3)} s of traffic are not compared for latency; `
      : '';
  return {
    check: 'latency',
    sufficient: enough(v.stableCount, v.canaryCount, min),
    outcome: v.worse ? 'fail' : v.noWorse ? 'pass' : 'inconclusive',
    statistic: round(v.statistic),
    bound: round(v.bound),
    stableSamples: v.stableCount,
    canarySamples: v.canaryCount,
    detail: sentence(
      warming + missing(v.stableCount, v.canaryCount, min, 'latency samples'),
      v.stableCount + v.canaryCount > 0 ? quantiles : '',
      v.worse ? 'fail' : v.noWorse ? 'pass' : 'inconclusive',
      enough(v.stableCount, v.canaryCount, min),
      `${finding} (largest CDF gap ${round(v.statistic, 3)}, band ${round(v.bound, 3)})${resolution}`,
    ),
  };
}

function p99CeilingCheck(a: Aggregates, maxMs: number, alpha: number, min: number, bounds?: readonly number[]): CheckVerdict {
  // The sample size is the histogram's own count: a data plane may sample latency (1 in 10
  // requests timed), and a band as narrow as the request count would claim 10× the evidence.
  const n = totalCount(a.canary.latency);
  const u = bandWidth(n, alpha);
  const read = n > 0 && 0.99 - u > 0 ? quantile(a.canary.latency, 0.99 - u) : null;
  // Bucketed: the quantile is only known to lie in its bucket, so its lower bound is the bucket's lower edge.
  const low = read !== null && bounds ? lowerEdge(bounds, read) : read;
  const high = n > 0 && 0.99 + u <= 1 ? quantile(a.canary.latency, 0.99 + u) : null;
  const p99 = quantile(a.canary.latency, 0.99);
  return {
    check: 'p99-ceiling',
    sufficient: n >= min,
    outcome: low !== null && low > maxMs ? 'fail' : high !== null && high <= maxMs ? 'pass' : 'inconclusive',
    statistic: p99 === null ? null : round(p99),
    bound: maxMs,
    stableSamples: totalCount(a.stable.latency),
    canarySamples: n,
    detail: sentence(
      missing(min, n, min, 'latency samples'),
      n ? `canary p99 ${fmtMs(p99)}, anytime bounds [${fmtMs(low)}, ${fmtMs(high)}]` : '',
      low !== null && low > maxMs ? 'fail' : high !== null && high <= maxMs ? 'pass' : 'inconclusive',
      n >= min,
      `against the ${maxMs} ms ceiling`,
    ),
  };
}

/** Mean score with an anytime margin: scores live in [1, 5], so a CDF band of width u bounds the mean within 4·u. */
function meanScore(sum: number, n: number, alpha: number): { mean: number | null; margin: number } {
  return { mean: n ? sum / n : null, margin: 4 * bandWidth(n, alpha) };
}

function feedbackCheck(a: Aggregates, config: NonNullable<AnalysisConfig['feedback']>, alpha: number, min: number): CheckVerdict {
  const c = meanScore(a.canary.feedbackSum, a.canary.feedbackCount, alpha / 2);
  const s = meanScore(a.stable.feedbackSum, a.stable.feedbackCount, alpha / 2);
  const floor = config.minScore;
  let outcome: Outcome = 'inconclusive';
  if (c.mean !== null) {
    const cHigh = c.mean + c.margin;
    const cLow = c.mean - c.margin;
    const belowStable = s.mean !== null && cHigh < s.mean - s.margin - config.tolerance;
    const withinStable = s.mean !== null && cLow >= s.mean + s.margin - config.tolerance;
    if (belowStable || (floor !== null && cHigh < floor)) outcome = 'fail';
    else if ((s.mean === null ? floor !== null : withinStable) && (floor === null || cLow >= floor)) outcome = 'pass';
  }
  // Ratings are sparse: a tenth of the request minimum (at least 10) is enough of them.
  const need = Math.max(10, Math.ceil(min / 10));
  const fmt = (m: { mean: number | null; margin: number }) =>
    m.mean === null ? 'none yet' : `${round(m.mean, 3)} ± ${round(m.margin, 3)}`;
  return {
    check: 'feedback',
    sufficient: a.canary.feedbackCount >= need && (floor !== null || a.stable.feedbackCount >= need),
    outcome,
    statistic: c.mean === null ? null : round(c.mean),
    bound: s.mean === null ? floor : round(s.mean - config.tolerance),
    stableSamples: a.stable.feedbackCount,
    canarySamples: a.canary.feedbackCount,
    detail:
      `${missing(a.stable.feedbackCount, a.canary.feedbackCount, need, 'scores')}mean score canary ${fmt(c)} (${a.canary.feedbackCount}), stable ${fmt(s)} (${a.stable.feedbackCount}); ` +
      `fails when shown more than ${config.tolerance} below stable's${floor === null ? '' : ` or below ${floor}`}`,
  };
}

/**
 * A check's sentence: what is missing (while undecided), what was seen, and — once decided or
 * once the evidence is enough — the finding; an undecided check short of evidence says only what
 * it lacks and saw.
 */
function sentence(lacking: string, seen: string, outcome: Outcome, sufficient: boolean, finding: string): string {
  // A decided check needs no minimum: saying what it still lacks would contradict the verdict.
  const decided = outcome !== 'inconclusive';
  const parts = [seen, decided || sufficient ? finding : ''].filter(Boolean);
  const prefix = decided ? '' : lacking;
  return parts.length ? prefix + parts.join('; ') : prefix.replace(/; $/, '') || finding;
}

function fmtMs(ms: number | null): string {
  return ms === null ? '–' : `${round(ms, 3)} ms`;
}

/** Judges one step's evidence with anytime-valid tests. */
export function sequentialJudge(config: AnalysisConfig, a: Aggregates, timing: Timing, alpha = DEFAULT_ALPHA): JudgeResult {
  // The error-rate comparison gets two shares of α, every other check one: it is the check a
  // broken release trips first, and the one whose speed users feel.
  const shares = 3 + (config.errorRate.max !== null ? 1 : 0) + (config.latency.p99MaxMs !== null ? 1 : 0) + (config.feedback ? 1 : 0);
  const each = alpha / shares;
  const min = config.minRequests;
  const checks: CheckVerdict[] = [
    errorRateCheck(a, config.errorRate, 2 * each, min),
    latencyCheck(a, config.latency, config.warmupMs, each, min, timing.latencyBounds),
  ];
  if (config.errorRate.max !== null) checks.push(ceilingCheck(a, config.errorRate.max, each, min));
  if (config.latency.p99MaxMs !== null) checks.push(p99CeilingCheck(a, config.latency.p99MaxMs, each, min, timing.latencyBounds));
  if (config.feedback) checks.push(feedbackCheck(a, config.feedback, each, min));
  return combineChecks('sequential', checks, timing.now, a);
}
