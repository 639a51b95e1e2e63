/**
 * The `threshold` judge, Flagger/Argo style: each complete interval's canary error rate and
 * p99 are held against fixed limits; the release fails after `failureThreshold` failed
 * intervals. Intervals with too little canary traffic are skipped, not failed (low traffic
 * is inconclusive, never a failure).
 */
import type { AnalysisConfig } from '../../core/types.js';
import { quantile, totalCount } from '../../core/latency-histogram.js';
import type { Aggregates } from '../accumulator.js';
import type { Timing } from '../evidence.js';
import { combineChecks, round, type CheckVerdict, type JudgeResult, type Outcome } from '../verdict.js';

/** Flagger's defaults when the release sets no ceiling: 99% success rate, 500 ms. */
export const DEFAULT_MAX_ERROR_RATE = 0.01;
export const DEFAULT_P99_MS = 500;
/** An interval needs this many canary requests to count (and as many latency samples for the p99 limit). */
export const MIN_INTERVAL_REQUESTS = 10;

export function thresholdJudge(config: AnalysisConfig, a: Aggregates, timing: Timing): JudgeResult {
  const maxRate = config.errorRate.max ?? DEFAULT_MAX_ERROR_RATE;
  const maxP99 = config.latency.p99MaxMs ?? DEFAULT_P99_MS;
  const complete = a.intervals.filter((i) => timing.now - i.start >= config.intervalMs);
  let errorFailures = 0;
  let latencyFailures = 0;
  let counted = 0;
  // Latency intervals count by their own samples (a data plane may time 1 request in 10).
  let timed = 0;
  let last = { rate: null as number | null, p99: null as number | null };
  for (const { canary } of complete) {
    if (canary.requests < MIN_INTERVAL_REQUESTS) continue;
    counted++;
    const rate = canary.errors / canary.requests;
    last = { ...last, rate };
    if (rate > maxRate) errorFailures++;
    if (totalCount(canary.latency) < MIN_INTERVAL_REQUESTS) continue;
    timed++;
    const p99 = quantile(canary.latency, 0.99);
    last = { ...last, p99 };
    if ((p99 ?? 0) > maxP99) latencyFailures++;
  }
  const outcomeOf = (failures: number, n: number): Outcome =>
    failures >= config.failureThreshold ? 'fail' : n > 0 ? 'pass' : 'inconclusive';
  const checks: CheckVerdict[] = [
    {
      check: 'error-ceiling',
      outcome: outcomeOf(errorFailures, counted),
      sufficient: counted > 0,
      statistic: last.rate === null ? null : round(last.rate),
      bound: maxRate,
      stableSamples: a.stable.requests,
      canarySamples: a.canary.requests,
      detail: `${errorFailures} of ${counted} intervals over the ${round(maxRate * 100, 3)}% error limit (fails at ${config.failureThreshold})`,
    },
    {
      check: 'p99-ceiling',
      outcome: outcomeOf(latencyFailures, timed),
      sufficient: timed > 0,
      statistic: last.p99 === null ? null : round(last.p99),
      bound: maxP99,
      stableSamples: totalCount(a.stable.latency),
      canarySamples: totalCount(a.canary.latency),
      detail: `${latencyFailures} of ${timed} intervals over the ${maxP99} ms p99 limit (fails at ${config.failureThreshold})`,
    },
  ];
  return combineChecks('threshold', checks, timing.now, a);
}
