/**
 * Merging metric windows. Several gateways report the same (release, version, second); their
 * counts add up and their latency histograms add bucket by bucket (the histogram is
 * mergeable by construction), so no report ever overwrites another.
 */
import type { MetricWindow } from '../../core/types.js';

/** The window holding both reports; `windowMs` is kept from the first. */
export function addWindows(a: MetricWindow, b: MetricWindow): MetricWindow {
  const latency: Record<string, number> = { ...a.latency };
  for (const [bucket, count] of Object.entries(b.latency)) latency[bucket] = (latency[bucket] ?? 0) + count;
  return {
    ...a,
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    latency,
    feedbackSum: a.feedbackSum + b.feedbackSum,
    feedbackCount: a.feedbackCount + b.feedbackCount,
  };
}

export function windowKey(w: MetricWindow): string {
  return JSON.stringify([w.releaseId, w.version, w.windowStart]);
}

/** Folds reports that share a key within one batch, so each key is written once. */
export function mergeBatch(windows: readonly MetricWindow[]): MetricWindow[] {
  const byKey = new Map<string, MetricWindow>();
  for (const w of windows) {
    const key = windowKey(w);
    const seen = byKey.get(key);
    byKey.set(key, seen ? addWindows(seen, w) : w);
  }
  return [...byKey.values()];
}
