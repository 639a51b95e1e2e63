/**
 * The judge factory: one entry point the controller calls every interval with a step's
 * aggregated evidence; it picks the release's judge (docs/analysis.md). Pure.
 */
import type { AnalysisConfig } from '../core/types.js';
import { aggregate, type Aggregates } from './accumulator.js';
import type { Evidence, Timing } from './evidence.js';
import { mannWhitneyJudge } from './judges/mann-whitney.js';
import { sequentialJudge } from './judges/sequential.js';
import { thresholdJudge } from './judges/threshold.js';
import type { JudgeResult } from './verdict.js';

/** Judges a step's aggregates with the release's configured judge. */
export function judge(config: AnalysisConfig, aggregates: Aggregates, timing: Timing): JudgeResult {
  switch (config.judge) {
    case 'sequential':
      return sequentialJudge(config, aggregates, timing);
    case 'threshold':
      return thresholdJudge(config, aggregates, timing);
    case 'mann-whitney':
      return mannWhitneyJudge(config, aggregates, timing);
    default: {
      const unknown: never = config.judge;
      throw new Error(`unknown judge ${String(unknown)}`);
    }
  }
}

/** Judges a list of windows at once (aggregating them first); for callers without an accumulator. */
export function judgeWindows(config: AnalysisConfig, evidence: Evidence): JudgeResult {
  const options = {
    intervalMs: config.intervalMs,
    origin: evidence.stepStartedAt,
    warmupMs: config.warmupMs,
    firstCanaryAt: evidence.firstCanaryAt ?? null,
  };
  return judge(config, aggregate(evidence.windows, options), evidence);
}
