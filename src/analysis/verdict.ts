/**
 * What a judge says, check by check: the statistic, the bound it was held against and the
 * samples behind it, so nobody has to guess why a release was rolled back.
 */
import type { Judge, Outcome } from '../core/types.js';

export type { Outcome };
export type CheckName = 'error-rate' | 'error-ceiling' | 'latency' | 'p99-ceiling' | 'feedback';

/** What a custom check (analysis.checks) read from Prometheus and how it judged it. */
export interface CustomCheckEvidence {
  readonly kind: 'ratio' | 'gauge';
  /** `anytime-valid` (ratio: the count test) or `threshold, not anytime-valid` (gauge). */
  readonly judgment: 'anytime-valid' | 'threshold, not anytime-valid';
  readonly prometheus: string;
  /** The PromQL as written (`$version` not yet replaced). */
  readonly queries: Readonly<Record<string, string>>;
  /** The numbers the verdict used (per version), as read. */
  readonly values: Readonly<Record<string, unknown>>;
}

export interface CheckVerdict {
  /** A built-in check's name, or a custom check's own name. */
  readonly check: CheckName | (string & {});
  readonly outcome: Outcome;
  /** The test statistic (meaning per check, named in `detail`). */
  readonly statistic: number | null;
  /** The bound the statistic was compared with. */
  readonly bound: number | null;
  readonly stableSamples: number;
  readonly canarySamples: number;
  /** Enough samples to have seen a regression, were there one (the release's `minRequests`). */
  readonly sufficient: boolean;
  /** One sentence a person can read. */
  readonly detail: string;
  /** Set on custom checks: their queries and values. */
  readonly custom?: CustomCheckEvidence;
}

export interface JudgeResult {
  readonly judge: Judge;
  readonly outcome: Outcome;
  /** Every check has enough samples (see CheckVerdict.sufficient). */
  readonly sufficient: boolean;
  readonly checks: readonly CheckVerdict[];
  readonly at: number;
  /** First and last window start the verdict used. */
  readonly windowFrom: number | null;
  readonly windowTo: number | null;
}

/** Fail if any check fails; pass only if every check passes; else inconclusive. */
function combine(checks: readonly CheckVerdict[]): Outcome {
  if (checks.some((c) => c.outcome === 'fail')) return 'fail';
  if (checks.length > 0 && checks.every((c) => c.outcome === 'pass')) return 'pass';
  return 'inconclusive';
}

/**
 * A judge's result from its checks, the same for every judge: the outcome folded by combine(),
 * sufficient when every check is, stamped `at` with the windows the evidence covered.
 */
export function combineChecks(
  judge: Judge,
  checks: readonly CheckVerdict[],
  at: number,
  window: { readonly windowFrom: number | null; readonly windowTo: number | null },
): JudgeResult {
  return {
    judge,
    outcome: combine(checks),
    sufficient: checks.every((c) => c.sufficient),
    checks,
    at,
    windowFrom: window.windowFrom,
    windowTo: window.windowTo,
  };
}

/** Whether both versions have at least `min` samples. */
export function enough(stable: number, canary: number, min: number): boolean {
  return stable >= min && canary >= min;
}

/**
 * What is still missing before a check's evidence counts as enough, as the start of its sentence
 * ("not enough canary requests yet: 12 of 100; "), or '' when nothing is.
 */
export function missing(stable: number, canary: number, min: number, what: string): string {
  const short = [
    canary < min ? `canary ${what} yet: ${canary} of ${min}` : null,
    stable < min ? `stable ${what} yet: ${stable} of ${min}` : null,
  ].filter(Boolean);
  return short.length ? `not enough ${short.join('; not enough ')}; ` : '';
}

/** A rate as a percent with up to 3 significant digits, e.g. 0.0123 → "1.23%". */
export function pct(rate: number): string {
  return `${round(rate * 100, 3)}%`;
}

export function round(value: number, digits = 4): number {
  return Number.isFinite(value) ? Number(value.toPrecision(digits)) : value;
}
