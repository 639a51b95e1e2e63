/**
 * Release plans and analysis settings: user input (percent, `30s`, shorthand) compiled once
 * into trusted `Step[]` and `AnalysisConfig` with every default filled.
 */
import { compileCustomChecks, type CustomCheckInput } from './custom-checks.js';
import { parseDuration } from './duration.js';
import { ValidationError } from './errors.js';
import type { AnalysisConfig, Judge, OnFailure, Step } from './types.js';
import { FULL_WEIGHT, percentToBps } from './weight.js';

export interface StepInput {
  readonly weight: number;
  readonly hold?: string | number;
  readonly analysis?: boolean;
}

export interface AnalysisInput {
  readonly judge?: Judge;
  readonly onFailure?: OnFailure;
  readonly interval?: string | number;
  readonly threshold?: number;
  readonly minRequests?: number;
  readonly warmup?: string | number;
  readonly errorRate?: { readonly tolerance?: number; readonly minDifference?: number; readonly max?: number | null };
  readonly latency?: { readonly tolerance?: number; readonly minDifferenceMs?: number; readonly p99MaxMs?: number | null };
  readonly feedback?: { readonly tolerance?: number; readonly minScore?: number | null } | null;
  readonly checks?: readonly CustomCheckInput[];
}

export const MAX_STEPS = 20;
export const DEFAULT_HOLD_MS = 60_000;
/** Used when a release names no plan: a cautious four-step ramp. */
export const DEFAULT_PLAN = '5:1m,25:2m,50:2m,100';

/**
 * Parses the plan shorthand: comma-separated percents, each optionally `:hold`,
 * e.g. `5,25,50,100` or `5:30s,25:1m,100`.
 * @throws ValidationError (TERN_INVALID_PLAN) naming the bad element.
 */
export function parsePlanShorthand(text: string, field = 'steps'): StepInput[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new ValidationError(
      field,
      `"${text}" is not a plan; use comma-separated percents like "5,25,50,100" or "5:30s,25:1m,100"`,
      'TERN_INVALID_PLAN',
    );
  }
  return parts.map((part, i) => {
    const [w, hold, extra] = part.split(':');
    const weight = Number(w);
    if (extra !== undefined || w === undefined || w === '' || !Number.isFinite(weight)) {
      throw new ValidationError(`${field}[${i}]`, `"${part}" is not a step; use PERCENT or PERCENT:HOLD, e.g. 25:1m`, 'TERN_INVALID_PLAN');
    }
    return hold === undefined ? { weight } : { weight, hold };
  });
}

/**
 * Compiles a plan (array of steps, shorthand string, or nothing for the default plan).
 * Weights must rise strictly and be above 0; holds default to 1m, and a final 100% step has
 * no hold and no analysis unless it says so.
 * @throws ValidationError (TERN_INVALID_PLAN / TERN_INVALID_WEIGHT / TERN_INVALID_DURATION).
 */
export function compilePlan(input: readonly StepInput[] | string | undefined, field = 'steps'): Step[] {
  const steps =
    input === undefined ? parsePlanShorthand(DEFAULT_PLAN) : typeof input === 'string' ? parsePlanShorthand(input, field) : input;
  if (steps.length === 0) throw new ValidationError(field, 'a plan needs at least one step', 'TERN_INVALID_PLAN');
  if (steps.length > MAX_STEPS)
    throw new ValidationError(field, `a plan has at most ${MAX_STEPS} steps, got ${steps.length}`, 'TERN_INVALID_PLAN');
  let previous = 0;
  return steps.map((step, i) => {
    const weight = percentToBps(step.weight, `${field}[${i}].weight`);
    if (weight <= previous) {
      throw new ValidationError(
        `${field}[${i}].weight`,
        weight === 0 ? 'a step weight must be above 0%' : `weights must rise from step to step (${previous / 100}% then ${weight / 100}%)`,
        'TERN_INVALID_PLAN',
      );
    }
    previous = weight;
    const isFinalFull = i === steps.length - 1 && weight === FULL_WEIGHT;
    const holdMs = step.hold === undefined ? (isFinalFull ? 0 : DEFAULT_HOLD_MS) : parseDuration(step.hold, `${field}[${i}].hold`);
    // At 100% no user is left on stable to compare against, so a final full step is not analysed.
    return { weight, holdMs, analysis: step.analysis ?? !isFinalFull };
  });
}

function fraction(value: number | undefined, fallback: number, field: string, max = Number.POSITIVE_INFINITY): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new ValidationError(field, `expected a number from 0 to ${max === Number.POSITIVE_INFINITY ? 'any' : max}, got ${value}`);
  }
  return value;
}

/** Defaults of the practical tolerances (docs/analysis.md says why these). */
export const ANALYSIS_DEFAULTS = {
  errorTolerance: 0.1,
  errorMinDifference: 0.0005,
  errorMax: 0.05,
  latencyTolerance: 0.2,
  latencyMinDifferenceMs: 5,
  feedbackTolerance: 0.5,
  warmupMs: 10_000,
  minRequests: 100,
} as const;

/**
 * Compiles analysis settings with defaults: sequential judge, roll back on failure, a 1s interval
 * for the sequential judge and 1m for the interval-based ones (Flagger's and Kayenta's habit),
 * 5 failed intervals for the threshold judge, 100 requests per version as enough evidence,
 * error rate: fails only above 1.1× stable's rate and 0.05 percentage points over it, ceiling 5%;
 * latency: fails only when 20% and 5 ms slower at some quantile, no p99 ceiling; a 10 s latency
 * warm-up; no feedback check (when on: 0.5 points below stable's mean, no absolute minimum).
 */
export function compileAnalysis(input: AnalysisInput | undefined, field = 'analysis'): AnalysisConfig {
  const a = input ?? {};
  const p99 = a.latency?.p99MaxMs;
  const minScore = a.feedback?.minScore;
  if (minScore !== undefined && minScore !== null && (!Number.isFinite(minScore) || minScore < 1 || minScore > 5)) {
    throw new ValidationError(`${field}.feedback.minScore`, `expected a score from 1 to 5, got ${minScore}`);
  }
  const judge = a.judge ?? 'sequential';
  const threshold = a.threshold ?? 5;
  const minRequests = a.minRequests ?? ANALYSIS_DEFAULTS.minRequests;
  if (!Number.isInteger(minRequests) || minRequests < 1 || minRequests > 10_000_000) {
    throw new ValidationError(`${field}.minRequests`, `expected a whole number of requests from 1 to 10000000, got ${minRequests}`);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 1000) {
    throw new ValidationError(`${field}.threshold`, `expected a whole number of failed intervals from 1 to 1000, got ${threshold}`);
  }
  return {
    judge,
    onFailure: a.onFailure ?? 'rollback',
    intervalMs: a.interval === undefined ? (judge === 'sequential' ? 1000 : 60_000) : parseDuration(a.interval, `${field}.interval`),
    failureThreshold: threshold,
    errorRate: {
      tolerance: fraction(a.errorRate?.tolerance, ANALYSIS_DEFAULTS.errorTolerance, `${field}.errorRate.tolerance`, 100),
      minDifference: fraction(a.errorRate?.minDifference, ANALYSIS_DEFAULTS.errorMinDifference, `${field}.errorRate.minDifference`, 1),
      max: a.errorRate?.max === null ? null : fraction(a.errorRate?.max, ANALYSIS_DEFAULTS.errorMax, `${field}.errorRate.max`, 1),
    },
    latency: {
      tolerance: fraction(a.latency?.tolerance, ANALYSIS_DEFAULTS.latencyTolerance, `${field}.latency.tolerance`, 100),
      minDifferenceMs: fraction(
        a.latency?.minDifferenceMs,
        ANALYSIS_DEFAULTS.latencyMinDifferenceMs,
        `${field}.latency.minDifferenceMs`,
        60_000,
      ),
      p99MaxMs: p99 === undefined || p99 === null ? null : fraction(p99, 0, `${field}.latency.p99MaxMs`),
    },
    feedback:
      a.feedback === undefined || a.feedback === null
        ? null
        : {
            tolerance: fraction(a.feedback.tolerance, ANALYSIS_DEFAULTS.feedbackTolerance, `${field}.feedback.tolerance`, 4),
            minScore: minScore ?? null,
          },
    warmupMs: a.warmup === undefined ? ANALYSIS_DEFAULTS.warmupMs : parseDuration(a.warmup, `${field}.warmup`),
    minRequests,
    checks: compileCustomChecks(a.checks, `${field}.checks`),
  };
}
