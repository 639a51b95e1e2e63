/**
 * Anytime-valid comparison of latency distributions (docs/analysis.md), from the time-uniform
 * DKW-type bands of Howard & Ramdas ("Sequential estimation of quantiles with applications
 * to A/B-testing and best-arm identification", Bernoulli 2022, Thm 2):
 *
 *   P(∃n: sup_x |F̂_n(x) − F(x)| > u_n(α)) ≤ α,  u_n(α) = 0.85·sqrt((ln ln(e·n) + 0.8·ln(1612/α)) / n).
 *
 * A difference matters only when it is both relative and absolute: with
 * g(x) = max((1+tol)·x, x + minMs), the canary is slower by more than the tolerance at some
 * quantile iff F_canary(g(x)) < F_stable(x) for some x. The composite null "no worse than the
 * tolerance" is F_C(g(x)) ≥ F_S(x) for all x; under it, with both bands at α/2,
 * F̂_S(x) − F̂_C(g(x)) ≤ u_nS(α/2) + u_nC(α/2) at every x and time, so failing when the
 * sup exceeds that sum keeps the false-alarm rate ≤ α (g is increasing, so one merge-walk finds
 * the sup). A 0.2 ms gap on a 0.4 ms service is 50% but far below the absolute part: no failure.
 * Passing is the mirror image at chosen quantiles: the canary's upper quantile bound sits
 * within g of stable's lower quantile bound.
 */
import { bucketOf, bucketUpper, quantile, sortedBuckets, totalCount, type LatencyHistogram } from '../core/latency-histogram.js';

/** Howard & Ramdas' time-uniform band half-width for n samples at level α. */
export function bandWidth(n: number, alpha: number): number {
  if (n <= 0) return 1;
  return Math.min(1, 0.85 * Math.sqrt((Math.log(Math.log(Math.E * n)) + 0.8 * Math.log(1612 / alpha)) / n));
}

export interface LatencyVerdict {
  /** sup_x (F̂_S(x) − F̂_C(g(x))). */
  readonly statistic: number;
  /** u_nS(α/2) + u_nC(α/2). */
  readonly bound: number;
  readonly worse: boolean;
  /** True when, at every checked quantile, the canary is shown within tolerance. */
  readonly noWorse: boolean;
  readonly stableCount: number;
  readonly canaryCount: number;
  /** With bucketed data: stable's median bucket when it is wider than the tolerance (differences inside it cannot be seen). */
  readonly coarse: { readonly lowMs: number; readonly highMs: number } | null;
}

/**
 * Bucketed (Prometheus) latency: each bucket's requests sit at its upper bound `b`, so all that
 * is known is F at the bounds. The test needs an upper bound on F_C(g(x)): F_C at the smallest
 * bound at or above g(x) (the canary's requests may sit anywhere below it); and a pass needs a
 * lower bound on stable's quantile: the bucket's lower edge. Both are sound whatever the data
 * inside a bucket does; the price is that a slowdown smaller than a bucket cannot be shown.
 */
function ceilBound(bounds: readonly number[], ms: number): number | undefined {
  return bounds.find((b) => b >= ms);
}

/** The largest bound below the bucket holding `ms` (0 below the first): a bucket's lower edge. */
export function lowerEdge(bounds: readonly number[], ms: number): number {
  const at = bucketOf(ms);
  return bounds.filter((b) => bucketOf(b) < at).at(-1) ?? 0;
}

/** Quantiles an early pass must clear; p99 joins once samples are plentiful enough to bound it. */
const PASS_QUANTILES = [0.5, 0.9, 0.99];

/** The practical tolerance: the latency the canary may reach where stable has `x` ms. */
export function tolerated(x: number, tol: number, minMs: number): number {
  return Math.max((1 + tol) * x, x + minMs);
}

/**
 * Compares canary to stable latency at level α: worse only when slower by more than `tol`
 * (relative, 0.2 = 20%) and by more than `minMs` at some quantile.
 */
export function compareLatency(
  stable: Readonly<LatencyHistogram>,
  canary: Readonly<LatencyHistogram>,
  tol: number,
  alpha: number,
  minMs = 0,
  bounds?: readonly number[],
): LatencyVerdict {
  const nS = totalCount(stable);
  const nC = totalCount(canary);
  const uS = bandWidth(nS, alpha / 2);
  const uC = bandWidth(nC, alpha / 2);
  const statistic = supShiftedGap(stable, nS, canary, nC, tol, minMs, bounds);
  const bound = uS + uC;
  const checkable = PASS_QUANTILES.filter((q) => q + uC <= 1 && q - uS > 0);
  const stableLow = (q: number): number => {
    const v = quantile(stable, q - uS)!;
    return bounds ? lowerEdge(bounds, v) : v;
  };
  const noWorse =
    nS > 0 && nC > 0 && checkable.length >= 2 && checkable.every((q) => quantile(canary, q + uC)! <= tolerated(stableLow(q), tol, minMs));
  let coarse: LatencyVerdict['coarse'] = null;
  const median = nS > 0 && bounds ? quantile(stable, 0.5) : null;
  if (median !== null && bounds) {
    const highMs = ceilBound(bounds, median / 1.02) ?? median;
    const lowMs = lowerEdge(bounds, median);
    if (highMs > tolerated(lowMs, tol, minMs)) coarse = { lowMs, highMs };
  }
  return { statistic, bound, worse: nS > 0 && nC > 0 && statistic > bound, noWorse, stableCount: nS, canaryCount: nC, coarse };
}

/**
 * sup over stable's bucket edges x of F̂_S(x) − F̂_C(g(x)), in one merge-walk over both
 * sorted histograms (it runs every second per release, so no per-point rescans).
 */
function supShiftedGap(
  stable: Readonly<LatencyHistogram>,
  nS: number,
  canary: Readonly<LatencyHistogram>,
  nC: number,
  tol: number,
  minMs: number,
  bounds?: readonly number[],
): number {
  if (nS === 0 || nC === 0) return 0;
  // Shifting x by (1+tol) moves a bucket index by log(1+tol)/log(γ); bucketOf gives that offset.
  const shift = bucketOf(1 + tol) - bucketOf(1);
  const c = sortedBuckets(canary);
  let ci = 0;
  let canaryBelow = 0;
  let stableBelow = 0;
  let sup = 0;
  for (const [bucket, count] of sortedBuckets(stable)) {
    stableBelow += count;
    let limit = Math.max(bucket + shift, minMs > 0 ? bucketOf(bucketUpper(bucket) + minMs) : bucket);
    if (bounds) {
      // Compare with the canary's F at the first bound at or above the tolerated latency (an upper bound on F_C there).
      const above = ceilBound(bounds, tolerated(bucketUpper(bucket), tol, minMs));
      limit = above === undefined ? Infinity : bucketOf(above);
    }
    while (ci < c.length && c[ci]![0] <= limit) canaryBelow += c[ci++]![1];
    sup = Math.max(sup, stableBelow / nS - canaryBelow / nC);
  }
  return sup;
}
