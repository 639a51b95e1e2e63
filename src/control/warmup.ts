/**
 * Where the latency warm-up starts, shared by the controller and what-if replay (docs/analysis.md, "Warm-up"): a
 * fresh canary's first `warmupMs` of traffic, counted from the first window in which it served
 * requests in this release, is not compared for latency (the accumulator applies the rule).
 */
import type { MetricWindow, Release } from '../core/types.js';

/** Start of the earliest window in which the release's canary served requests, or null. */
export function firstCanaryWindow(release: Pick<Release, 'version'>, windows: readonly MetricWindow[]): number | null {
  let first: number | null = null;
  for (const w of windows) {
    if (w.version === release.version && w.requests > 0 && (first === null || w.windowStart < first)) first = w.windowStart;
  }
  return first;
}
