/**
 * The `mann-whitney` judge, Kayenta style: a fixed-horizon comparison of per-interval
 * aggregates (error rate, median latency) of canary against stable with the Mann-Whitney U
 * test at 98% confidence, failing a metric only when the difference is also larger than the
 * 25% tolerance. It decides once, at the end of the step's hold; before that it is
 * inconclusive (peeking would void its guarantee — that is what the sequential judge is for).
 */
import type { AnalysisConfig } from '../../core/types.js';
import { quantile, totalCount } from '../../core/latency-histogram.js';
import type { Aggregates } from '../accumulator.js';
import type { Timing } from '../evidence.js';
import { combineChecks, round, type CheckVerdict, type JudgeResult, type Outcome } from '../verdict.js';

export const CONFIDENCE = 0.98;
export const TOLERANCE = 0.25;
const MIN_INTERVALS = 3;

/** Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction). */
export function mannWhitneyP(a: readonly number[], b: readonly number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const r1 = all.reduce((sum, x, i) => (x.g === 0 ? sum + ranks[i]! : sum), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / Math.sqrt(variance);
  return Math.min(1, 2 * (1 - normalCdf(Math.max(0, z))));
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf approximation, |error| < 1.5e-7). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (z / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 1 - 0.5 * poly * Math.exp(-(z * z) / 2);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function compare(
  name: 'error-rate' | 'latency',
  stable: number[],
  canary: number[],
  horizon: boolean,
  samples: { stableSamples: number; canarySamples: number },
  minDifference: number,
): CheckVerdict {
  const enough = stable.length >= MIN_INTERVALS && canary.length >= MIN_INTERVALS;
  const p = enough ? mannWhitneyP(canary, stable) : null;
  const ms = enough ? median(stable) : 0;
  const ratio = enough ? (ms > 0 ? median(canary) / ms : median(canary) > 0 ? Number.POSITIVE_INFINITY : 1) : null;
  // The practical tolerance's absolute part (a rate for errors, ms for latency): a significant
  // ratio over 1.25 still passes when the medians are closer than that.
  const apart = enough && median(canary) - ms > minDifference;
  const worse = p !== null && ratio !== null && p < 1 - CONFIDENCE && ratio > 1 + TOLERANCE && apart;
  const outcome: Outcome = !horizon || !enough ? 'inconclusive' : worse ? 'fail' : 'pass';
  return {
    check: name,
    outcome,
    sufficient: enough,
    statistic: ratio === null ? null : round(ratio),
    bound: 1 + TOLERANCE,
    ...samples,
    detail: enough
      ? `median per-interval ${name} canary/stable ${round(ratio!, 3)}, Mann-Whitney p = ${round(p!, 3)} (fails when p < ${round(1 - CONFIDENCE, 2)}, the ratio > ${1 + TOLERANCE} and the medians differ by more than ${round(minDifference, 3)}${name === 'latency' ? ' ms' : ''})${horizon ? '' : '; decides at the end of the step'}`
      : `${Math.min(stable.length, canary.length)} intervals with traffic so far; needs ${MIN_INTERVALS}`,
  };
}

export function mannWhitneyJudge(config: AnalysisConfig, a: Aggregates, timing: Timing): JudgeResult {
  const complete = a.intervals.filter((i) => timing.now - i.start >= config.intervalMs);
  const horizon = timing.now - timing.stepStartedAt >= timing.holdMs;
  const stable = complete.map((i) => i.stable).filter((t) => t.requests > 0);
  const canary = complete.map((i) => i.canary).filter((t) => t.requests > 0);
  // Error rates from the exact counts; medians only of intervals with latency samples (a data
  // plane sampling latency may have requests but no sample in an interval: no median, not 0 ms).
  const medians = (arm: typeof stable) => arm.filter((t) => totalCount(t.latency) > 0).map((t) => quantile(t.latency, 0.5) ?? 0);
  const checks = [
    compare(
      'error-rate',
      stable.map((t) => t.errors / t.requests),
      canary.map((t) => t.errors / t.requests),
      horizon,
      { stableSamples: a.stable.requests, canarySamples: a.canary.requests },
      config.errorRate.minDifference,
    ),
    compare(
      'latency',
      medians(stable),
      medians(canary),
      horizon,
      { stableSamples: totalCount(a.stable.latency), canarySamples: totalCount(a.canary.latency) },
      config.latency.minDifferenceMs,
    ),
  ];
  return combineChecks('mann-whitney', checks, timing.now, a);
}
