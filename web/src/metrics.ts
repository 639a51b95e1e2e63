/**
 * Turns the API's per-second metric windows into chart series: request rate, error rate and
 * latency quantiles per version, aligned on one time axis. Latency histograms use the same
 * log buckets as the server (DDSketch, relative error 1%: src/core/latency-histogram.ts).
 */
import type { MetricsResponse, VersionMetrics } from './api';

const RELATIVE_ERROR = 0.01;
const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);

/** The representative latency (ms) of a bucket. */
export function bucketValue(bucket: number): number {
  return (2 * Math.pow(GAMMA, bucket)) / (GAMMA + 1);
}

/** The q-quantile (ms) of a sparse histogram, or null when it is empty. */
export function quantile(h: Readonly<Record<string, number>>, q: number): number | null {
  const buckets = Object.entries(h)
    .map(([k, c]): [number, number] => [Number(k), c])
    .filter(([, c]) => c > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketValue(bucket);
  }
  return bucketValue(buckets[buckets.length - 1]![0]);
}

interface Point {
  requests: number;
  errors: number;
  windowMs: number;
  latency: Record<string, number>;
}

export interface Series {
  /** Seconds since the epoch, ascending. */
  readonly x: number[];
  readonly rate: { stable: (number | null)[]; canary: (number | null)[] };
  readonly errorRate: { stable: (number | null)[]; canary: (number | null)[] };
  readonly p50: { stable: (number | null)[]; canary: (number | null)[] };
  readonly p99: { stable: (number | null)[]; canary: (number | null)[] };
}

export interface Totals {
  readonly version: string;
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number | null;
  /** Requests whose latency was measured (below `requests` when the data plane samples latency). */
  readonly latencySamples: number;
  readonly p50: number | null;
  readonly p99: number | null;
}

function byWindow(v: VersionMetrics | undefined): Map<number, Point> {
  const map = new Map<number, Point>();
  for (const w of v?.windows ?? []) {
    const t = Date.parse(w.windowStart);
    const p = map.get(t) ?? { requests: 0, errors: 0, windowMs: w.windowMs, latency: {} };
    p.requests += w.requests;
    p.errors += w.errors;
    for (const [k, c] of Object.entries(w.latency)) p.latency[k] = (p.latency[k] ?? 0) + c;
    map.set(t, p);
  }
  return map;
}

/** Chart series for the stable and canary versions. */
export function toSeries(metrics: MetricsResponse): Series {
  const stable = byWindow(metrics.versions.find((v) => v.role === 'stable'));
  const canary = byWindow(metrics.versions.find((v) => v.role === 'canary'));
  const times = [...new Set([...stable.keys(), ...canary.keys()])].sort((a, b) => a - b);
  const pick = (m: Map<number, Point>, f: (p: Point) => number | null) => times.map((t) => (m.has(t) ? f(m.get(t)!) : null));
  const rate = (p: Point) => p.requests / (p.windowMs / 1000);
  const err = (p: Point) => (p.requests === 0 ? null : (100 * p.errors) / p.requests);
  const q = (v: number) => (p: Point) => quantile(p.latency, v);
  return {
    x: times.map((t) => t / 1000),
    rate: { stable: pick(stable, rate), canary: pick(canary, rate) },
    errorRate: { stable: pick(stable, err), canary: pick(canary, err) },
    p50: { stable: pick(stable, q(0.5)), canary: pick(canary, q(0.5)) },
    p99: { stable: pick(stable, q(0.99)), canary: pick(canary, q(0.99)) },
  };
}

/** Totals per role over the windows shown (p50/p99 from the merged histograms). */
export function totals(metrics: MetricsResponse, role: 'stable' | 'canary'): Totals | null {
  const v = metrics.versions.find((x) => x.role === role);
  if (!v) return null;
  const merged: Record<string, number> = {};
  for (const w of v.windows) for (const [k, c] of Object.entries(w.latency)) merged[k] = (merged[k] ?? 0) + c;
  return {
    version: v.version,
    requests: v.totals.requests,
    errors: v.totals.errors,
    errorRate: v.totals.errorRate,
    latencySamples: v.totals.latencySamples,
    p50: quantile(merged, 0.5),
    p99: quantile(merged, 0.99),
  };
}
