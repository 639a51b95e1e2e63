/**
 * A mergeable latency histogram with bounded relative error (the DDSketch bucketing of
 * Masson, Rim & Lee, VLDB 2019): bucket i holds values in (γ^(i-1), γ^i] with γ = (1+α)/(1-α),
 * and a bucket is represented by 2γ^i/(γ+1), so every quantile is within α = 1% of a true
 * sample value (docs/analysis.md). Histograms from many gateways and seconds
 * merge by adding counts bucket by bucket, which is what the store and the judges do.
 *
 * Values are milliseconds. Values at or below 1 µs share bucket `MIN_BUCKET`.
 */

export const RELATIVE_ERROR = 0.01;
const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
const MIN_VALUE_MS = 0.001;
export const MIN_BUCKET = Math.ceil(Math.log(MIN_VALUE_MS) / LOG_GAMMA);

/** Sparse histogram: bucket index → count. Plain object so it serialises as JSON as is. */
export type LatencyHistogram = Record<string, number>;

/** The bucket index for a latency in ms. */
export function bucketOf(ms: number): number {
  if (!(ms > MIN_VALUE_MS)) return MIN_BUCKET;
  return Math.ceil(Math.log(ms) / LOG_GAMMA);
}

/** The largest value (ms) a bucket holds: γ^bucket. */
export function bucketUpper(bucket: number): number {
  return Math.pow(GAMMA, bucket);
}

/** The representative value (ms) of a bucket: within α of every value the bucket holds. */
export function bucketValue(bucket: number): number {
  return (2 * Math.pow(GAMMA, bucket)) / (GAMMA + 1);
}

/** Adds `count` observations of `ms` to `h` in place. */
export function record(h: LatencyHistogram, ms: number, count = 1): void {
  const key = String(bucketOf(ms));
  h[key] = (h[key] ?? 0) + count;
}

/** A histogram from bucket index → count pairs (e.g. counts a hot path kept in a number-keyed Map). */
export function fromBucketCounts(counts: Iterable<readonly [bucket: number, count: number]>): LatencyHistogram {
  const h: LatencyHistogram = {};
  for (const [bucket, count] of counts) h[String(bucket)] = (h[String(bucket)] ?? 0) + count;
  return h;
}

/** Adds every bucket of `from` into `into` (in place) and returns `into`. */
export function mergeInto(into: LatencyHistogram, from: Readonly<LatencyHistogram>): LatencyHistogram {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
  return into;
}

export function totalCount(h: Readonly<LatencyHistogram>): number {
  let n = 0;
  for (const count of Object.values(h)) n += count;
  return n;
}

/** Buckets sorted ascending with their counts. */
export function sortedBuckets(h: Readonly<LatencyHistogram>): Array<[bucket: number, count: number]> {
  return Object.entries(h)
    .map(([k, c]): [number, number] => [Number(k), c])
    .filter(([, c]) => c > 0)
    .sort((a, b) => a[0] - b[0]);
}

/** The q-quantile (0..1) in ms, or null for an empty histogram (lower quantile convention). */
export function quantile(h: Readonly<LatencyHistogram>, q: number): number | null {
  const buckets = sortedBuckets(h);
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(Math.min(Math.max(q, 0), 1) * total));
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketValue(bucket);
  }
  return bucketValue(buckets[buckets.length - 1]![0]);
}

/** Empirical CDF at `ms`: the share of observations ≤ ms (bucket resolution). */
export function cdf(h: Readonly<LatencyHistogram>, ms: number): number {
  const limit = bucketOf(ms);
  let below = 0;
  let total = 0;
  for (const [key, count] of Object.entries(h)) {
    total += count;
    if (Number(key) <= limit) below += count;
  }
  return total === 0 ? 0 : below / total;
}
