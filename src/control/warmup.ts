/**
 * The warm-up rule shared by the controller and what-if replay (DESIGN §5): a fresh canary's
 * first `warmupMs` of traffic, counted from the first window in which it served requests in this
 * release, is not compared for latency; its errors and the ceilings count from the first request.
 */
import type { AnalysisConfig, MetricWindow, Release } from '../core/types.js';

/** Start of the earliest window in which the release's canary served requests, or null. */
export function firstCanaryWindow(release: Pick<Release, 'version'>, windows: readonly MetricWindow[]): number | null {
  let first: number | null = null;
  for (const w of windows) {
    if (w.version === release.version && w.requests > 0 && (first === null || w.windowStart < first)) first = w.windowStart;
  }
  return first;
}

/** `Timing.latencyFrom` for a canary first seen at `firstCanary`; undefined before it served anything. */
export function latencyFrom(analysis: Pick<AnalysisConfig, 'warmupMs'>, firstCanary: number | null): number | undefined {
  return firstCanary === null ? undefined : firstCanary + analysis.warmupMs;
}
