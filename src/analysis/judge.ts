/**
 * The judge factory: one entry point the controller calls every interval with a step's
 * evidence; it picks the release's judge (DESIGN §5). Pure.
 */
import type { AnalysisConfig } from '../core/types.js';
import type { Evidence } from './evidence.js';
import { mannWhitneyJudge } from './judges/mann-whitney.js';
import { sequentialJudge } from './judges/sequential.js';
import { thresholdJudge } from './judges/threshold.js';
import type { JudgeResult } from './verdict.js';

/** Judges a step's evidence with the release's configured judge. */
export function judge(config: AnalysisConfig, evidence: Evidence & { readonly holdMs: number }): JudgeResult {
  switch (config.judge) {
    case 'sequential':
      return sequentialJudge(config, evidence);
    case 'threshold':
      return thresholdJudge(config, evidence);
    case 'mann-whitney':
      return mannWhitneyJudge(config, evidence);
    default: {
      const unknown: never = config.judge;
      throw new Error(`unknown judge ${String(unknown)}`);
    }
  }
}
