/**
 * Merging metric windows. Each source (a data plane) stores its own window per (release,
 * version, second) and replaces it on a repeat; reading adds up the windows of every source:
 * counts add, latency histograms add bucket by bucket (the histogram is mergeable by
 * construction, so sampled latency merges as the union of the samples), heavy error users add
 * per user-key hash (every gateway hashes a user alike) and the heaviest 16 are kept.
 */
import { totalCount } from '../../core/latency-histogram.js';
import type { MetricWindow } from '../../core/types.js';

/** Heavy error users kept per stored window, after adding up every gateway's report. */
export const MAX_ERROR_USERS = 16;

/**
 * Adds two reports of heavy error users (user-key hash → errors) key by key and keeps the
 * `MAX_ERROR_USERS` with the most errors (ties by hash, so the result does not depend on the
 * order the reports came in); undefined when neither has any.
 */
export function addErrorUsers(
  a: Readonly<Record<string, number>> | undefined,
  b: Readonly<Record<string, number>> | undefined,
): Record<string, number> | undefined {
  if (a === undefined && b === undefined) return undefined;
  const sum = new Map<string, number>(Object.entries(a ?? {}));
  for (const [user, n] of Object.entries(b ?? {})) sum.set(user, (sum.get(user) ?? 0) + n);
  const top = [...sum]
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, MAX_ERROR_USERS);
  return top.length === 0 ? undefined : Object.fromEntries(top);
}

/** The requests a window's latency samples stand for: its samples divided by its sample rate. */
function timedRequests(w: MetricWindow): number {
  return totalCount(w.latency) / (w.latencySampleRate ?? 1);
}

/**
 * The effective sample rate of two windows together: all their samples over the requests those
 * samples stand for; undefined when neither sampled. E.g. 100 of 100 timed plus 100 of 1000
 * sampled at 0.1 give 200 / 1100.
 */
export function addSampleRates(a: MetricWindow, b: MetricWindow): number | undefined {
  if (a.latencySampleRate === undefined && b.latencySampleRate === undefined) return undefined;
  const stood = timedRequests(a) + timedRequests(b);
  if (stood === 0) return Math.min(a.latencySampleRate ?? 1, b.latencySampleRate ?? 1);
  return Math.min(1, (totalCount(a.latency) + totalCount(b.latency)) / stood);
}

/** The window holding both reports; `windowMs` is kept from the first. */
export function addWindows(a: MetricWindow, b: MetricWindow): MetricWindow {
  const latency: Record<string, number> = { ...a.latency };
  for (const [bucket, count] of Object.entries(b.latency)) latency[bucket] = (latency[bucket] ?? 0) + count;
  const gatewayErrors = (a.gatewayErrors ?? 0) + (b.gatewayErrors ?? 0);
  const errorUsers = addErrorUsers(a.errorUsers, b.errorUsers);
  const latencySampleRate = addSampleRates(a, b);
  const { gatewayErrors: _g, errorUsers: _u, latencySampleRate: _r, ...rest } = a;
  return {
    ...rest,
    ...(latencySampleRate === undefined ? {} : { latencySampleRate }),
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    latency,
    feedbackSum: a.feedbackSum + b.feedbackSum,
    feedbackCount: a.feedbackCount + b.feedbackCount,
    ...(gatewayErrors > 0 ? { gatewayErrors } : {}),
    ...(errorUsers === undefined ? {} : { errorUsers }),
  };
}

export function windowKey(w: MetricWindow): string {
  return JSON.stringify([w.releaseId, w.version, w.windowStart]);
}

/**
 * One report per key from a batch: the last. A source that reports a key twice in one push
 * re-read it (an agent re-emits a window when a late log line arrives, and a delayed push
 * carries both copies); like a repeat across pushes, the later report replaces the earlier.
 */
export function mergeBatch(windows: readonly MetricWindow[]): MetricWindow[] {
  const byKey = new Map<string, MetricWindow>();
  for (const w of windows) byKey.set(windowKey(w), w);
  return [...byKey.values()];
}
