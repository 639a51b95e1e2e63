/**
 * Judging custom checks from what was read out of Prometheus. Pure.
 *
 * - ratio checks: per-window counter growth of `events` and `total` per version goes through the
 *   very count test the error-rate check uses (count-eprocess.ts conditioned on each window's
 *   exposure, rate-bounds.ts for the absolute part and the bound; sequential.ts `judgeRate`), so
 *   it may be looked at every interval without inflating false alarms. Higher-is-better ratios
 *   (conversions) are judged with the versions' roles swapped: the canary fails when stable's
 *   ratio is shown above (1 + tolerance) × the canary's and the canary's + minDifference.
 * - gauge checks: a value per version per look, judged by a threshold rule over the last N looks
 *   (all N worse fails, all N fine passes) — not anytime-valid, and every sentence says so.
 */
import type { GaugeCheck, RatioCheck } from '../core/custom-checks.js';
import { addCountWindowInPlace, emptyCountState, ratioEstimate } from './count-eprocess.js';
import { judgeRate } from './judges/sequential.js';
import { rateInterval } from './rate-bounds.js';
import { missing, pct, round, type CheckVerdict, type Outcome } from './verdict.js';

export const THRESHOLD_LABEL = 'threshold, not anytime-valid';

export interface RatioCounts {
  readonly events: number;
  readonly total: number;
}

/** One window's counter growth per version. */
export interface RatioWindow {
  readonly start: number;
  readonly canary: RatioCounts;
  readonly stable: RatioCounts;
}

export interface JudgeContext {
  /** The Prometheus the values came from. */
  readonly prometheus: string;
  /** False-failure budget of this check. */
  readonly alpha: number;
  /** `total` per version that counts as enough evidence (ratio checks). */
  readonly minTotal: number;
}

const sum = (ws: readonly RatioWindow[], arm: 'canary' | 'stable'): RatioCounts =>
  ws.reduce((t, w) => ({ events: t.events + w[arm].events, total: t.total + w[arm].total }), { events: 0, total: 0 });

const ratioText = (c: RatioCounts): string => (c.total ? `${pct(c.events / c.total)} (${c.events}/${c.total})` : 'no total yet');

/** Judges a ratio check over the step's windows (oldest first, each once). */
export function judgeRatio(check: RatioCheck, windows: readonly RatioWindow[], ctx: JudgeContext): CheckVerdict {
  const higher = check.direction === 'higher-is-better';
  // The count test asks whether its first arm is worse: for a higher-is-better ratio that is stable.
  const worse = higher ? 'stable' : 'canary';
  const better = higher ? 'canary' : 'stable';
  const count = emptyCountState();
  for (const w of windows) {
    const bad = w[worse];
    const good = w[better];
    addCountWindowInPlace(count, {
      canaryRequests: bad.total,
      canaryErrors: Math.min(bad.events, bad.total),
      stableRequests: good.total,
      stableErrors: Math.min(good.events, good.total),
    });
  }
  const canary = sum(windows, 'canary');
  const stable = sum(windows, 'stable');
  const share = check.bound === null ? ctx.alpha : (ctx.alpha * 2) / 3;
  const r = judgeRate(
    {
      count,
      canary: { requests: count.canaryRequests, errors: count.canaryErrors },
      stable: { requests: count.stableRequests, errors: count.stableErrors },
    },
    check.tolerance,
    check.minDifference,
    share,
  );
  const bound = check.bound === null ? null : boundOutcome(check, canary, ctx.alpha - share);
  const outcome = bound === null ? r.outcome : worst(r.outcome, bound.outcome);
  const sufficient = canary.total >= ctx.minTotal && stable.total >= ctx.minTotal;
  const tol = higher
    ? `below stable's / ${round(1 + check.tolerance, 3)} and −${round(check.minDifference * 100, 3)} pp`
    : `above ${round(1 + check.tolerance, 3)}× stable's and +${round(check.minDifference * 100, 3)} pp`;
  const finding =
    r.outcome === 'fail'
      ? `the canary's ratio is shown ${tol}`
      : r.outcome === 'pass'
        ? `the canary is shown no worse than ${tol.replace(/^(above|below) /, '')}`
        : `not shown ${tol}, nor within it yet`;
  const seen = `canary ${ratioText(canary)} vs stable ${ratioText(stable)} over ${windows.length} window(s)`;
  const lacking = outcome === 'inconclusive' ? missing(stable.total, canary.total, ctx.minTotal, 'total') : '';
  const s = stable.total ? stable.events / stable.total : null;
  return {
    check: check.name,
    outcome,
    sufficient,
    statistic: canary.total ? round(canary.events / canary.total) : null,
    bound:
      s === null
        ? check.bound
        : round(
            higher
              ? Math.min(s / (1 + check.tolerance), s - check.minDifference)
              : Math.max(s * (1 + check.tolerance), s + check.minDifference),
          ),
    stableSamples: stable.total,
    canarySamples: canary.total,
    detail: `${lacking}${seen}; ${finding}${bound ? `; ${bound.text}` : ''}`,
    custom: {
      kind: 'ratio',
      judgment: 'anytime-valid',
      prometheus: ctx.prometheus,
      queries: { events: check.events, total: check.total },
      values: {
        canary,
        stable,
        windows: windows.length,
        windowMs: check.intervalMs,
        ratioEstimate: ratioEstimate(count),
        ratioBounds: [round(r.lower), Number.isFinite(r.upper) ? round(r.upper) : null],
      },
    },
  };
}

/** Fail if either fails, pass only if both pass. */
function worst(a: Outcome, b: Outcome): Outcome {
  return a === 'fail' || b === 'fail' ? 'fail' : a === 'pass' && b === 'pass' ? 'pass' : 'inconclusive';
}

/** The canary's ratio against the absolute bound (ceiling or floor), by its anytime interval. */
function boundOutcome(check: RatioCheck, canary: RatioCounts, alpha: number): { outcome: Outcome; text: string } {
  const limit = check.bound!;
  const { lower, upper } = rateInterval(Math.min(canary.events, canary.total), canary.total, alpha);
  const ceiling = check.direction === 'lower-is-better';
  const outcome: Outcome = ceiling
    ? lower > limit
      ? 'fail'
      : upper <= limit
        ? 'pass'
        : 'inconclusive'
    : upper < limit
      ? 'fail'
      : lower >= limit
        ? 'pass'
        : 'inconclusive';
  return { outcome, text: `anytime interval [${pct(lower)}, ${pct(upper)}] against the ${pct(limit)} ${ceiling ? 'ceiling' : 'floor'}` };
}

/** One look at a gauge: each version's value (stable null when not read: no comparison asked). */
export interface GaugeLook {
  readonly at: number;
  readonly canary: number;
  readonly stable: number | null;
}

/** What is wrong with one look, or null when it is fine. */
export function gaugeViolation(check: GaugeCheck, look: GaugeLook): string | null {
  const v = look.canary;
  if (check.min !== null && v < check.min) return `below min ${check.min}`;
  if (check.max !== null && v > check.max) return `above max ${check.max}`;
  if (check.tolerance !== null && look.stable !== null) {
    const s = look.stable;
    const gap = check.direction === 'lower-is-better' ? v - s : s - v;
    const allowed = Math.max(check.tolerance * Math.abs(s), check.minDifference);
    if (gap > allowed)
      return `${check.direction === 'lower-is-better' ? 'above' : 'below'} stable's ${round(s)} by ${round(gap)} (allowed ${round(allowed)})`;
  }
  return null;
}

/** Judges a gauge check on its looks (oldest first): the last `evaluations` decide. */
export function judgeGauge(check: GaugeCheck, looks: readonly GaugeLook[], prometheus: string): CheckVerdict {
  const n = check.evaluations;
  const last = looks.slice(-n);
  const problems = last.map((l) => gaugeViolation(check, l));
  const full = last.length >= n;
  const outcome: Outcome = !full
    ? 'inconclusive'
    : problems.every((p) => p !== null)
      ? 'fail'
      : problems.every((p) => p === null)
        ? 'pass'
        : 'inconclusive';
  const latest = last.at(-1);
  const values = `canary ${last.map((l) => round(l.canary)).join(', ') || 'none'}${check.tolerance !== null ? ` vs stable ${last.map((l) => (l.stable === null ? '–' : round(l.stable))).join(', ')}` : ''}`;
  const finding =
    outcome === 'fail'
      ? `worse at all ${n} evaluations (${problems.at(-1)})`
      : outcome === 'pass'
        ? `within bounds at all ${n} evaluations`
        : full
          ? `worse at ${problems.filter((p) => p !== null).length} of the last ${n} evaluations`
          : `${last.length} of ${n} evaluations so far`;
  return {
    check: check.name,
    outcome,
    // Undecided with a worse newest look is not "no sign of regression": it holds the step.
    sufficient: full && latest !== undefined && problems.at(-1) === null,
    statistic: latest ? round(latest.canary) : null,
    bound: check.min ?? check.max ?? (latest?.stable != null ? round(latest.stable) : null),
    stableSamples: last.filter((l) => l.stable !== null).length,
    canarySamples: last.length,
    detail: `${THRESHOLD_LABEL}: ${values} over the last ${last.length} evaluation(s); ${finding}`,
    custom: {
      kind: 'gauge',
      judgment: THRESHOLD_LABEL,
      prometheus,
      queries: { query: check.query },
      values: { looks: last.map((l) => ({ at: new Date(l.at).toISOString(), canary: l.canary, stable: l.stable })), evaluations: n },
    },
  };
}

/** An inconclusive, insufficient verdict: the check could not be read (the step holds). */
export function unreadable(check: RatioCheck | GaugeCheck, reason: string, prometheus: string): CheckVerdict {
  return {
    check: check.name,
    outcome: 'inconclusive',
    sufficient: false,
    statistic: null,
    bound: null,
    stableSamples: 0,
    canarySamples: 0,
    detail: reason,
    custom: {
      kind: check.kind,
      judgment: check.kind === 'ratio' ? 'anytime-valid' : THRESHOLD_LABEL,
      prometheus,
      queries: check.kind === 'ratio' ? { events: check.events, total: check.total } : { query: check.query },
      values: {},
    },
  };
}
