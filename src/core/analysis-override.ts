/**
 * What-if analysis settings: a partial analysis input (the shape a release start takes) laid
 * over a release's own compiled settings, compiled again with the same rules and checks.
 */
import { compileAnalysis, type AnalysisInput } from './plan.js';
import type { AnalysisConfig } from './types.js';

/** The input that compiles back to `config` (durations in ms). */
export function analysisInputOf(config: AnalysisConfig): AnalysisInput {
  return {
    judge: config.judge,
    onFailure: config.onFailure,
    interval: `${config.intervalMs}ms`,
    threshold: config.failureThreshold,
    minRequests: config.minRequests,
    warmup: `${config.warmupMs}ms`,
    errorRate: { ...config.errorRate },
    latency: { ...config.latency },
    feedback: config.feedback === null ? null : { ...config.feedback },
  };
}

/**
 * `override` merged over `base` field by field (nested objects too). A new judge without an
 * interval gets that judge's default interval, not the old judge's.
 * @throws ValidationError as compileAnalysis does, naming `field`.
 */
export function overrideAnalysis(base: AnalysisConfig, override: AnalysisInput | undefined, field = 'analysis'): AnalysisConfig {
  if (!override) return base;
  const { interval, ...own } = analysisInputOf(base);
  // A new judge keeps the old interval only when it is asked for again.
  const keepInterval = override.judge === undefined || override.judge === base.judge;
  const merged: AnalysisInput = {
    ...own,
    ...(keepInterval && interval !== undefined ? { interval } : {}),
    ...definedOnly(override),
    errorRate: { ...own.errorRate, ...definedOnly(override.errorRate ?? {}) },
    latency: { ...own.latency, ...definedOnly(override.latency ?? {}) },
    feedback:
      override.feedback === undefined
        ? (own.feedback ?? null)
        : override.feedback === null
          ? null
          : { ...own.feedback, ...definedOnly(override.feedback) },
  };
  return compileAnalysis(merged, field);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
